"""ASGI middleware: serve ``/debug/profile/...`` and pass everything else to the app.

Mount it explicitly::

    from profkit.endpoints import ASGIProfileMiddleware
    app = ASGIProfileMiddleware(app, enable=["heap"])

A capture blocks for ``seconds``, so it runs on a small thread pool of its own
(``run_in_executor``): the event loop keeps serving other requests meanwhile, and the
app's own thread pool is not taken. Non-HTTP scopes (lifespan, websocket) pass through.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from profkit.endpoints import http
from profkit.endpoints.config import EndpointConfig
from profkit.endpoints.core import ProfileEndpoints
from profkit.endpoints.request_labels import (
    REQUEST_LABELS,
    LabelledCoroutine,
    LabelsFactory,
    RouteAwareScope,
    follow_into_threads,
    labels_factory,
)
from profkit.endpoints.request_profile_calls import asgi_asks, call_asgi

Scope = Dict[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _headers(scope: Scope) -> Dict[str, str]:
    out: Dict[str, str] = {}
    raw: List[Tuple[bytes, bytes]] = scope.get("headers") or []
    for k, v in raw:
        out[k.decode("latin-1").lower()] = v.decode("latin-1")
    return out


async def _watch_disconnect(receive: Callable[[], Awaitable[Any]], gone: threading.Event) -> None:
    """Set ``gone`` when the server reports ``http.disconnect`` (the client went away)."""
    try:
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                gone.set()
                return
    except asyncio.CancelledError:
        raise
    except Exception:
        return


def _app_path(scope: Scope) -> str:
    """Return the request path below ``root_path``.

    ASGI servers (uvicorn >= 0.26, Starlette's routing) put the mount point in both
    ``root_path`` and ``path``; it is stripped here so the prefix matches below it. A
    ``path`` that does not start with ``root_path`` (older servers) is used as is.
    """
    path = str(scope.get("path", ""))
    root = str(scope.get("root_path", "") or "").rstrip("/")
    if root and path.startswith(root) and path[len(root):len(root) + 1] in ("", "/"):
        return path[len(root):] or "/"
    return path


def _client(scope: Scope) -> Optional[str]:
    client = scope.get("client")
    return str(client[0]) if client else None


def _route_labels(scope: Scope) -> Dict[str, str]:
    """Return route/method labels; the route template once a router has set ``scope["route"]``."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    return {
        "route": template if isinstance(template, str) else str(scope.get("path", "")),
        "method": str(scope.get("method", "")),
    }


class ASGIProfileMiddleware:
    """Wrap an ASGI ``app``; HTTP requests under ``config.prefix`` get profiles.

    Args:
        app: the ASGI application to wrap (not modified).
        config: an ``EndpointConfig``; or pass its fields as keyword arguments.
        max_workers: threads available to concurrent profile requests.

    Raises:
        InputError: a bad option (unknown ``enable`` feature, malformed ``allow``).
    """

    def __init__(
        self,
        app: ASGIApp,
        config: Optional[EndpointConfig] = None,
        *,
        max_workers: int = 4,
        **options: Any,
    ) -> None:
        self.app = app
        self.config = config if config is not None else EndpointConfig(**options)
        self.endpoints = ProfileEndpoints(self.config)
        self.close = self.endpoints.close
        self.labels: Optional[LabelsFactory] = (
            labels_factory() if self.config.request_labels else None
        )
        self._max_workers = max_workers
        self._executor: Optional[ThreadPoolExecutor] = None

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Answer a profile request, or await the app with the request's labels."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        sub = self.endpoints.subpath(_app_path(scope))
        if sub is None:
            profiles = self.endpoints.request_profiles
            asked = self.config.request_profiles and asgi_asks(scope) and profiles.allowed(
                _client(scope), _headers(scope))
            if asked or profiles.auto:
                # no LabelledCoroutine: its steps would hide the awaiting frames from
                # pyinstrument (every await would land on the middleware)
                watched = RouteAwareScope(scope)
                watched.on_route = lambda: self._follow(watched)
                await call_asgi(profiles, asked, scope, receive, send,
                                lambda s, r, w: self.app(watched, r, w),
                                lambda: _route_labels(scope)["route"])
                return
            await self._call_app(scope, receive, send)
            return
        client = _client(scope)
        request = http.Request(
            method=str(scope.get("method", "GET")),
            path=sub,
            query_string=bytes(scope.get("query_string", b"")).decode("latin-1"),
            client=client,
            headers=_headers(scope),
            base_path=str(scope.get("root_path", "")).rstrip("/"),
        )
        await self._serve(request, receive, send)

    async def _call_app(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Await the app, labelled with the request's route and method when labels are on."""
        if self.labels is None:
            await self.app(scope, receive, send)
            return
        watched = RouteAwareScope(scope)
        labelled = LabelledCoroutine(
            self.app(watched, receive, send), self.labels, lambda: _route_labels(watched)
        )
        def on_route() -> None:
            labelled.refresh()
            self._follow(watched)

        watched.on_route = on_route
        await labelled

    def _follow(self, watched: RouteAwareScope) -> None:
        """Routing matched: let a sync endpoint in the thread pool carry the labels."""
        REQUEST_LABELS.set(_route_labels(watched))
        follow_into_threads(watched.get("route"), self.labels)

    async def _serve(
        self, request: http.Request, receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        """Answer a request under the prefix from the endpoints' thread pool."""
        gone = threading.Event()
        request.disconnected = gone.is_set
        watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._max_workers, "profkit-endpoint")
        loop = asyncio.get_running_loop()
        try:
            response = await loop.run_in_executor(self._executor, self.endpoints.handle, request)
        finally:
            watcher.cancel()
        if gone.is_set():
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [
                    (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": response.body})
