"""A failure inside the profiler never breaks the app's responses, and never leaks a traceback."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Callable, Dict, Iterable

import pytest
from endpoint_servers import WsgiServer, fetch

from profkit.endpoints import ProfileMiddleware, catalog
from profkit.endpoints.catalog import ProfileKind


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"app is fine"]


def broken_labels(**kv: str) -> AbstractContextManager[None]:
    raise RuntimeError("labels exploded")


def broken_snapshot() -> Any:
    raise MemoryError("collector exploded\nsecret detail on line two")


def test_broken_labels_do_not_break_the_app(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    middleware = ProfileMiddleware(app)
    middleware.labels = broken_labels
    with wsgi_server(middleware) as srv:
        status, _, body = fetch(srv.url + "/anything")
        assert (status, body) == (200, b"app is fine")


def test_a_failing_collector_is_one_line_500(
    wsgi_server: Callable[[Any], WsgiServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    kind = ProfileKind("threads", "boom", aliases=("goroutine",), snapshot=broken_snapshot)
    monkeypatch.setitem(catalog.BY_NAME, "goroutine", kind)
    with wsgi_server(ProfileMiddleware(app)) as srv:
        status, headers, body = fetch(srv.url + "/debug/profile/goroutine")
        assert (status, body) == (500, b"profkit: internal error: MemoryError\n")
        assert headers["X-Go-Pprof"] == "1"
        status, _, body = fetch(srv.url + "/debug/profile/goroutine?seconds=1")
        assert (status, body) == (500, b"failed to collect profile\n")
        assert fetch(srv.url + "/")[2] == b"app is fine"
