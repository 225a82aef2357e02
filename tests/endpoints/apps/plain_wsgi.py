"""A dependency-free WSGI app wrapped in ProfileMiddleware, for the gunicorn tests."""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Iterable

from profkit.endpoints import ProfileMiddleware


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/spin":
        spin(0.02)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


application = ProfileMiddleware(app, max_seconds=30)
