"""A dependency-free ASGI app for the uvicorn tests, wrapped in ASGIProfileMiddleware.

``/`` says hello, ``/sleep`` awaits 0.2 s, ``/spin?ms=N`` burns CPU on the loop thread.
PROFKIT_TOKEN sets a token; PROFKIT_FORGE_CLIENT rewrites the client address before the
middleware sees it (to test the loopback rule with a real server).
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Awaitable, Callable, Dict
from urllib.parse import parse_qs

from profkit.endpoints import ASGIProfileMiddleware


async def app(scope: Dict[str, Any], receive: Callable[[], Awaitable[Any]],
              send: Callable[[Any], Awaitable[None]]) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/sleep":
        await asyncio.sleep(0.2)
    elif path == "/spin":
        ms = float(parse_qs(scope["query_string"].decode()).get("ms", ["50"])[0])
        end = time.perf_counter() + ms / 1000
        n = 0
        while time.perf_counter() < end:
            n += 1
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": f"hello from {path}\n".encode()})


options: Dict[str, Any] = {}
if os.environ.get("PROFKIT_TOKEN"):
    options["token"] = os.environ["PROFKIT_TOKEN"]
if os.environ.get("PROFKIT_ENABLE"):
    options["enable"] = os.environ["PROFKIT_ENABLE"].split(",")
profiled = ASGIProfileMiddleware(app, max_seconds=20, **options)
forged = os.environ.get("PROFKIT_FORGE_CLIENT")


async def application(scope: Dict[str, Any], receive: Any, send: Any) -> None:
    if forged and scope["type"] == "http":
        scope = dict(scope, client=(forged, 4242))
    await profiled(scope, receive, send)
