"""WSGI and ASGI apps for the multi-worker tests: ``/pid`` answers the worker's pid, ``/spin`` burns CPU."""

from __future__ import annotations

import os
import time
from typing import Any, Awaitable, Callable, Dict, Iterable

from profkit.endpoints import ASGIProfileMiddleware, ProfileMiddleware


def spin_in_worker(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def _body(path: str) -> bytes:
    if path == "/spin":
        spin_in_worker(0.01)
    return str(os.getpid()).encode() if path == "/pid" else b"ok"


def wsgi(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = _body(environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Connection", "close")])
    return [body]


async def asgi(scope: Dict[str, Any], receive: Callable[[], Awaitable[Any]],
               send: Callable[[Any], Awaitable[None]]) -> None:
    if scope["type"] != "http":
        return
    body = _body(scope["path"])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


wsgi_application = ProfileMiddleware(wsgi, max_seconds=30)
asgi_application = ASGIProfileMiddleware(asgi, max_seconds=30)
