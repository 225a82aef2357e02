"""FastAPI app for the per-request profile tests: an async endpoint that awaits and burns CPU.

``/mixed/{n}`` awaits ``asyncio.sleep(0.03)`` then spends 80 ms of CPU in
``asgi_hot_function``; ``/sync/{n}`` (a plain ``def``, run in the thread pool) spends
20 ms there; ``/quick`` answers at once. PROFKIT_KEPT sets ``profiles_kept``.
"""

from __future__ import annotations

import asyncio
import os
import time

from fastapi import Depends, FastAPI

from profkit.integrations.fastapi import install

app = FastAPI()
install(app, profiles_kept=int(os.environ.get("PROFKIT_KEPT", "32")))


def asgi_hot_function(ms: float) -> int:
    """Spend ``ms`` of CPU in this function's own Python code (the clock is read rarely)."""
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        for i in range(5000):
            n += i & 3
    return n


@app.get("/")
async def index() -> dict:
    return {"ok": True}


@app.get("/quick")
async def quick() -> dict:
    return {"quick": True}


@app.get("/mixed/{n}")
async def mixed(n: int) -> dict:
    await asyncio.sleep(0.03)
    asgi_hot_function(80)
    return {"n": n}


@app.get("/sync/{n}")
def sync_work(n: int) -> dict:
    asgi_hot_function(20)
    return {"sync": n}


def plain_route_hot(ms: float) -> int:
    """The CPU of ``/plain/{n}``: a Starlette ``Route`` whose endpoint is a plain ``def``."""
    return asgi_hot_function(ms)


def dependency_hot() -> int:
    """A sync dependency (FastAPI runs it in the thread pool) that spends 20 ms of CPU."""
    return asgi_hot_function(20)


def plain_sync_endpoint(request: object) -> object:
    from starlette.responses import PlainTextResponse

    plain_route_hot(20)
    return PlainTextResponse("plain")


@app.get("/depends/{n}")
async def with_sync_dependency(n: int, spent: int = Depends(dependency_hot)) -> dict:
    return {"depends": n}


from starlette.routing import Route  # noqa: E402

app.router.routes.append(Route("/plain/{n}", plain_sync_endpoint))
