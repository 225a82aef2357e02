"""``/debug/profile`` endpoints modelled on Go's ``net/http/pprof``, for WSGI and ASGI apps.

Nothing is mounted on import: wrap your app with ``ProfileMiddleware`` (WSGI) or
``ASGIProfileMiddleware`` (ASGI), or use ``profkit.integrations.{flask,django,fastapi}``.
See docs/MIDDLEWARE.md for the endpoints, the security model and server timeouts.
"""

from __future__ import annotations

from profkit.endpoints.asgi import ASGIProfileMiddleware
from profkit.endpoints.config import DEFAULT_PREFIX, EndpointConfig
from profkit.endpoints.core import ProfileEndpoints
from profkit.endpoints.wsgi import ProfileMiddleware

__all__ = [
    "ASGIProfileMiddleware",
    "DEFAULT_PREFIX",
    "EndpointConfig",
    "ProfileEndpoints",
    "ProfileMiddleware",
]
