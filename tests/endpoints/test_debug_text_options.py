"""``/debug/profile/<kind>?debug=1`` takes the report options from the query string.

The same names as pprof's web UI (``f``, ``h``, ``si``, ``n``, ``report`` ...),
parsed by ``ReportRequest.from_query``; a bad value is a one-line 400, as Go's
``serveError``, before any snapshot is taken. Over a real werkzeug server.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, Iterator, List

import pytest
from endpoint_servers import WsgiServer, fetch

from profkit.endpoints import ProfileMiddleware

KEPT: List[bytes] = []


def hoard_for_search() -> None:
    KEPT.extend(bytes(64 * 1024) for _ in range(32))


def hoard_for_books() -> None:
    KEPT.extend(bytes(64 * 1024) for _ in range(32))


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    {"/search": hoard_for_search, "/books": hoard_for_books}.get(environ["PATH_INFO"], list)()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture(scope="module")
def server() -> Iterator[WsgiServer]:
    middleware = ProfileMiddleware(app, enable=["heap"], heap_interval_bytes=64 * 1024)
    try:
        with WsgiServer(middleware) as srv:
            assert fetch(srv.url + "/search")[0] == 200
            assert fetch(srv.url + "/books")[0] == 200
            yield srv
    finally:
        middleware.close()
        KEPT.clear()


def text(srv: WsgiServer, query: str) -> str:
    status, headers, body = fetch(srv.url + "/debug/profile/heap?" + query)
    assert status == 200 and headers["Content-Type"].startswith("text/plain"), body
    return body.decode()


def test_plain_debug_text_is_the_top_report(server: WsgiServer) -> None:
    out = text(server, "debug=1")
    assert "Type: inuse_space" in out and "hoard_for_search" in out and "hoard_for_books" in out


def test_focus_sample_index_and_node_count_apply(server: WsgiServer) -> None:
    out = text(server, "debug=1&f=hoard_for_search&si=alloc_space&n=10")
    assert "Type: alloc_space" in out
    assert "Active filters:\n   focus=hoard_for_search\n" in out
    assert "hoard_for_search" in out.split("flat%")[-1] and "hoard_for_books" not in out
    rows = out.split("cum%\n", 1)[1].splitlines()
    assert 0 < len(rows) <= 10


def test_hide_and_cum_sort_apply(server: WsgiServer) -> None:
    out = text(server, "debug=1&h=hoard_for_books&sort=cum")
    assert "hide=hoard_for_books" in out and "hoard_for_books  " not in out
    cum_pct = [float(line.split()[4].rstrip("%")) for line in out.split("cum%\n", 1)[1].splitlines()]
    assert len(cum_pct) > 2 and cum_pct == sorted(cum_pct, reverse=True)


def test_other_reports_by_name(server: WsgiServer) -> None:
    out = text(server, "debug=1&report=tree&n=5")
    assert "calls calls% + context" in out


@pytest.mark.parametrize("query,message", [
    ("debug=1&f=(", "parsing focus regexp '(': missing ): ("),
    ("debug=1&si=nope", "unknown sample index 'nope'"),
    ("debug=1&n=many", "n must be a number, got 'many'"),
    ("debug=1&report=nope", "unknown report 'nope'"),
    ("debug=1&divide_by=0", "divide_by must be a finite non-zero number"),
])
def test_bad_options_are_one_line_400(server: WsgiServer, query: str, message: str) -> None:
    status, headers, body = fetch(server.url + "/debug/profile/heap?" + query)
    assert status == 400 and headers["X-Go-Pprof"] == "1"
    line = body.decode()
    assert line.startswith(message) and line.count("\n") == 1
