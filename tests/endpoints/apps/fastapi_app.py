"""FastAPI app with profkit mounted through ``profkit.integrations.fastapi.install``."""

from __future__ import annotations

import time

from fastapi import FastAPI

from profkit.integrations.fastapi import install

app = FastAPI()
install(app, max_seconds=20)


def burn(ms: float) -> int:
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


@app.get("/")
async def index() -> dict:
    return {"ok": True}


@app.get("/items/{item_id}")
async def item(item_id: int) -> dict:
    return {"item": item_id, "work": burn(20)}
