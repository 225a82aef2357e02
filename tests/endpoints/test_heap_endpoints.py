"""/heap and /allocs over a real server, enabled at mount; delta and text forms."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterable, List

import pytest
from endpoint_servers import WsgiServer, fetch

from profkit.cli import main
from profkit.endpoints import ProfileMiddleware
from profkit.model import Profile, parse

KEPT: List[bytes] = []


def hoard_memory() -> None:
    KEPT.extend(bytes(64 * 1024) for _ in range(64))  # 4 MiB kept alive


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/hoard":
        hoard_memory()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def space_in(p: Profile, type_name: str, func: str) -> int:
    idx = p.sample_index(type_name)
    return sum(
        s.values[idx] for s in p.samples
        if any(func in ln.function.name for loc in s.locations for ln in loc.lines)
    )


@pytest.fixture
def heap_server(wsgi_server: Callable[[Any], WsgiServer]) -> Iterable[WsgiServer]:
    middleware = ProfileMiddleware(app, enable=["heap"], heap_interval_bytes=64 * 1024)
    try:
        with wsgi_server(middleware) as srv:
            yield srv
    finally:
        middleware.close()
        KEPT.clear()


def test_heap_and_allocs_show_the_hoarder(heap_server: WsgiServer) -> None:
    assert fetch(heap_server.url + "/hoard")[0] == 200
    status, headers, body = fetch(heap_server.url + "/debug/profile/heap?gc=1")
    assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="heap.pb.gz"'
    heap = parse(body)
    assert [st.type for st in heap.sample_types] == [
        "alloc_objects", "alloc_space", "inuse_objects", "inuse_space"]
    assert space_in(heap, "inuse_space", "hoard_memory") > 2 * 1024 * 1024
    allocs = parse(fetch(heap_server.url + "/debug/profile/allocs")[2])
    assert allocs.default_sample_type == "alloc_space"
    assert space_in(allocs, "alloc_space", "hoard_memory") > 2 * 1024 * 1024
    status, headers, text = fetch(heap_server.url + "/debug/profile/heap?debug=1")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"hoard_memory" in text


def test_heap_delta_shows_only_the_window(heap_server: WsgiServer) -> None:
    assert fetch(heap_server.url + "/hoard")[0] == 200  # before the window
    timer = threading.Timer(0.3, lambda: fetch(heap_server.url + "/hoard"))
    timer.start()
    status, headers, body = fetch(heap_server.url + "/debug/profile/allocs?seconds=2")
    timer.join()
    assert status == 200
    assert headers["Content-Disposition"] == 'attachment; filename="allocs-delta.pb.gz"'
    delta = parse(body)
    inside = space_in(delta, "alloc_space", "hoard_memory")
    assert 2 * 1024 * 1024 < inside < 7 * 1024 * 1024  # one burst of 4 MiB, not two
    assert delta.duration_nanos >= 1_900_000_000


def test_heap_needs_enabling(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(app)) as srv:
        status, _, body = fetch(srv.url + "/debug/profile/heap")
    assert status == 501
    assert body.startswith(b"heap profiling is not enabled: mount with enable=")


def test_capture_heap_prints_the_top(heap_server: WsgiServer, tmp_path: Any,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert fetch(heap_server.url + "/hoard")[0] == 200
    out = tmp_path / "heap.pb.gz"
    start = time.monotonic()
    assert main(["capture", heap_server.url, "--type", "heap", "-o", str(out), "--top", "5"]) == 0
    assert time.monotonic() - start < 30
    printed = capsys.readouterr().out
    assert "flat" in printed and "hoard_memory" in printed
