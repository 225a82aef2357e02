"""Mount ``/debug/profile`` on a FastAPI or Starlette app: ``install(app)``.

Adds ``ASGIProfileMiddleware`` with ``app.add_middleware``; samples of each request are
labelled with the matched route template (Starlette's ``scope["route"]``) and method.
Works for any ASGI app too: ``ASGIProfileMiddleware(app, ...)``.
"""

from __future__ import annotations

from typing import Any

from profkit.endpoints.asgi import ASGIProfileMiddleware
from profkit.endpoints.config import EndpointConfig


def install(app: Any, **options: Any) -> None:
    """Add the profiling middleware to ``app`` (a FastAPI/Starlette application).

    ``options`` are ``EndpointConfig`` fields; they are validated here (InputError on a
    bad one), before Starlette builds its middleware stack at start-up.
    """
    config = EndpointConfig(**options)
    app.add_middleware(ASGIProfileMiddleware, config=config)
