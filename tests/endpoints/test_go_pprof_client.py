"""``go tool pprof`` as a client of the endpoints, unchanged Go URLs."""

from __future__ import annotations

import threading
from typing import Any, Callable, Dict, Iterable

import pytest
from endpoint_servers import WsgiServer, fetch, wait_for_capture

from profkit.endpoints import ProfileMiddleware

pytestmark = pytest.mark.go


def crunch_numbers(n: int) -> int:
    return sum(i * i % 7 for i in range(n))


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    crunch_numbers(200_000)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def keep_busy(url: str, stop: threading.Event) -> None:
    while not stop.is_set():
        fetch(url)


def test_go_tool_pprof_reads_the_cpu_profile(
    wsgi_server: Callable[[Any], WsgiServer], go_pprof: Any
) -> None:
    with wsgi_server(ProfileMiddleware(app)) as srv:
        stop = threading.Event()
        load = threading.Thread(target=keep_busy, args=(srv.url + "/work", stop))
        load.start()
        try:
            out = go_pprof("-top", "-seconds", "2", srv.url + "/debug/profile/profile").stdout
            tags = go_pprof("-tags", srv.url + "/debug/profile/profile?seconds=1").stdout
        finally:
            stop.set()
            load.join()
    assert "Type: cpu" in out
    assert "crunch_numbers" in out
    assert "route:" in tags and "/work" in tags and "method:" in tags


def test_go_tool_pprof_shows_the_busy_message(
    wsgi_server: Callable[[Any], WsgiServer], go_pprof: Any
) -> None:
    with wsgi_server(ProfileMiddleware(app)) as srv:
        holder = threading.Thread(target=fetch, args=(srv.url + "/debug/profile/cpu?seconds=3",))
        holder.start()
        wait_for_capture(srv.url)
        proc = go_pprof("-top", srv.url + "/debug/profile/profile?seconds=1", check=False)
        holder.join()
    assert proc.returncode != 0
    assert "server response: 500 Internal Server Error - Could not enable CPU profiling: " \
        "cpu profiling already in use" in proc.stderr


def test_go_tool_pprof_reads_goroutine_and_error_for_bad_seconds(
    wsgi_server: Callable[[Any], WsgiServer], go_pprof: Any
) -> None:
    with wsgi_server(ProfileMiddleware(app)) as srv:
        out = go_pprof("-top", srv.url + "/debug/profile/goroutine").stdout
        bad = go_pprof("-top", srv.url + "/debug/profile/heap?seconds=-1", check=False)
    assert "Type: thread" in out
    assert bad.returncode != 0
    assert 'server response: 400 Bad Request - invalid value for "seconds"' in bad.stderr


def test_go_tool_pprof_against_uvicorn(uvicorn_app: Callable[..., str], go_pprof: Any) -> None:
    url = uvicorn_app("plain_asgi:application")
    stop = threading.Event()
    load = threading.Thread(target=keep_busy, args=(url + "/spin?ms=20", stop))
    load.start()
    try:
        out = go_pprof("-top", "-tagfocus", "route=/spin", url + "/debug/profile/profile?seconds=2").stdout
    finally:
        stop.set()
        load.join()
    assert "Type: cpu" in out
    assert "plain_asgi.app" in out
