"""Framework-neutral request and response values, and the error responses Go's pprof sends.

A ``Request`` is what the WSGI and ASGI adapters read from the server; a ``Response`` is
what they write back, whole (profiles are built after the capture window, so the status
is known before the first byte is sent). Error responses follow ``net/http/pprof``'s
``serveError``: one line of ``text/plain``, ``X-Go-Pprof: 1`` (so ``go tool pprof``
prints the message) and no ``Content-Disposition``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs

REASONS: Dict[int, str] = {
    200: "OK",
    301: "Moved Permanently",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    500: "Internal Server Error",
    501: "Not Implemented",
}


@dataclass
class Request:
    """One HTTP request, as the endpoints see it.

    ``path`` is relative to the mount prefix (``""`` or ``"/"`` is the index, ``"/heap"``
    a profile); ``client`` is the peer address (``None`` when the server gives none, as
    with a Unix socket); ``headers`` has lower-case names; ``disconnected()`` tells
    whether the client has gone away (long waits end early then, as in Go).
    ``rate_share`` is N when this worker's capture is one of N workers' at once
    (``workers.Workers.gather``): each samples at 1/N of the rate, 100 Hz in all.
    """

    method: str
    path: str
    query_string: str = ""
    client: Optional[str] = None
    headers: Mapping[str, str] = field(default_factory=dict)
    base_path: str = ""
    disconnected: Callable[[], bool] = lambda: False
    rate_share: int = 1

    def query(self) -> Dict[str, str]:
        """Return the query parameters, first value of each (Go's ``FormValue``)."""
        parsed = parse_qs(self.query_string, keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclass
class Response:
    """A whole HTTP response: status, headers (in order) and body."""

    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def status_line(self) -> str:
        """Return ``"200 OK"`` style text for WSGI."""
        return f"{self.status} {REASONS.get(self.status, 'Unknown')}"

    def header(self, name: str) -> Optional[str]:
        """Return the first header called ``name`` (case-insensitive), or None."""
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


def _common_headers(content_type: str, length: int) -> List[Tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Content-Length", str(length)),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
    ]


def error(status: int, message: str, *, extra: Tuple[Tuple[str, str], ...] = ()) -> Response:
    """Return Go's ``serveError``: ``status``, one line of text, ``X-Go-Pprof: 1``.

    ``message`` is reduced to its first line so that no traceback can leak.
    """
    line = (message.splitlines() or [""])[0].strip()
    body = (line + "\n").encode("utf-8", "replace")
    headers = _common_headers("text/plain; charset=utf-8", len(body))
    headers.append(("X-Go-Pprof", "1"))
    headers.extend(extra)
    return Response(status, headers, body)


def profile_bytes(data: bytes, filename: str) -> Response:
    """Return a 200 with a gzip'd profile as an ``attachment; filename="..."``."""
    safe = "".join(c for c in filename if c.isalnum() or c in "._-") or "profile"
    headers = _common_headers("application/octet-stream", len(data))
    headers.append(("Content-Disposition", f'attachment; filename="{safe}"'))
    return Response(200, headers, data)


def text(body: str, *, status: int = 200) -> Response:
    """Return a ``text/plain; charset=utf-8`` response."""
    data = body.encode("utf-8", "replace")
    return Response(status, _common_headers("text/plain; charset=utf-8", len(data)), data)


def html(body: str) -> Response:
    """Return a ``text/html; charset=utf-8`` 200 response."""
    data = body.encode("utf-8")
    headers = _common_headers("text/html; charset=utf-8", len(data))
    headers.append(("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"))
    return Response(200, headers, data)


def redirect(location: str) -> Response:
    """Return a 301 to ``location`` (the index without its trailing slash)."""
    resp = text(f"moved to {location}\n", status=301)
    resp.headers.append(("Location", location))
    return resp
