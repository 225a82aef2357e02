"""Run one WSGI or ASGI app call under a request profile (see ``request_profiles``).

WSGI: the profiler runs on the worker thread from the app call to the end of the
response body; a profiled response is collected whole before it is returned (so the
profile is kept before the client has the last byte), unprofiled ones stream as before.
ASGI: the profiler runs in the request's task from the app call to the final
``http.response.body`` message, which is forwarded only once the profile is kept;
background work after the response (Starlette's ``BackgroundTask``) is not in it.
Either way the app's status, headers and body pass unchanged, plus ``X-Profkit-Profile``
(the id, or ``busy``) on asked-for requests.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Tuple

from profkit.endpoints.request_labels import POOL_HOOK
from profkit.endpoints.request_profiles import (
    BUSY,
    RESPONSE_HEADER,
    TRIGGER_HEADER,
    TRIGGER_QUERY,
    ActiveProfile,
    RequestProfiles,
    header_asks,
    query_asks,
)

_ASGI_HEADER = RESPONSE_HEADER.lower().encode("latin-1")
_HEADER_BYTES = TRIGGER_HEADER.encode("latin-1")
_QUERY_BYTES = TRIGGER_QUERY.encode("latin-1")


def wsgi_asks(environ: Dict[str, Any]) -> bool:
    """Return whether a WSGI request carries the trigger (header or query parameter)."""
    return header_asks(environ.get("HTTP_X_PROFKIT_PROFILE")) or query_asks(
        environ.get("QUERY_STRING", "")
    )


def asgi_asks(scope: Dict[str, Any]) -> bool:
    """Return whether an ASGI HTTP request carries the trigger.

    Header names are compared as the ASGI spec delivers them (lower-case bytes).
    """
    query = scope.get("query_string") or b""
    if _QUERY_BYTES in query and query_asks(bytes(query).decode("latin-1")):
        return True
    for k, v in scope.get("headers") or ():
        if k == _HEADER_BYTES:
            return header_asks(v.decode("latin-1"))
    return False


def call_wsgi(
    profiles: RequestProfiles, asked: bool, environ: Dict[str, Any],
    start_response: Callable[..., Any], call: Callable[..., Iterable[bytes]], route: str,
) -> Iterable[bytes]:
    """Return ``call(environ, start_response)``'s body, profiled when a slot is free."""
    active = profiles.start("asked" if asked else "slowest")
    if active is None:
        if not asked:
            return call(environ, start_response)

        def busy_start(status: str, headers: List[Tuple[str, str]], *exc: Any) -> Any:
            return start_response(status, list(headers) + [(RESPONSE_HEADER, BUSY)], *exc)

        return call(environ, busy_start)
    status = [500]

    def start(status_line: str, headers: List[Tuple[str, str]], *exc: Any) -> Any:
        try:
            status[0] = int(status_line.split(" ", 1)[0])
        except ValueError:
            pass
        if asked:
            headers = list(headers) + [(RESPONSE_HEADER, active.id)]
        return start_response(status_line, headers, *exc)

    method = str(environ.get("REQUEST_METHOD", ""))
    path = str(environ.get("PATH_INFO", "") or "/")
    try:
        body = call(environ, start)
        try:
            chunks = list(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    finally:
        active.finish(method, route, path, status[0])
    return chunks


async def call_asgi(
    profiles: RequestProfiles, asked: bool, scope: Dict[str, Any],
    receive: Callable[[], Awaitable[Any]], send: Callable[[Any], Awaitable[None]],
    call: Callable[..., Awaitable[None]], route_of: Callable[[], str],
) -> None:
    """Await ``call(scope, receive, send)``, profiled when a slot is free (module doc)."""
    active: Optional[ActiveProfile] = profiles.start("asked" if asked else "slowest")
    if active is None and not asked:
        await call(scope, receive, send)
        return
    tag = (active.id if active is not None else BUSY).encode("latin-1")
    status = [500]
    method = str(scope.get("method", ""))
    path = str(scope.get("path", ""))

    def finish() -> None:
        if active is not None:
            active.finish(method, route_of(), path, status[0])

    token = POOL_HOOK.set(active.run_in_thread) if active is not None else None

    async def watched_send(message: Any) -> None:
        kind = message.get("type") if isinstance(message, dict) else None
        if kind == "http.response.start":
            status[0] = int(message.get("status", 500))
            if asked:
                headers = list(message.get("headers") or ()) + [(_ASGI_HEADER, tag)]
                message = dict(message, headers=headers)
        elif kind == "http.response.body" and not message.get("more_body", False):
            finish()
        await send(message)

    try:
        await call(scope, receive, watched_send)
    finally:
        finish()
        if token is not None:
            POOL_HOOK.reset(token)
