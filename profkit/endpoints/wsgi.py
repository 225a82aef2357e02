"""WSGI middleware: serve ``/debug/profile/...`` and pass everything else to the app.

Mount it explicitly (nothing is registered on import)::

    from profkit.endpoints import ProfileMiddleware
    app.wsgi_app = ProfileMiddleware(app.wsgi_app, enable=["heap", "locks"])

Use a threaded server (gunicorn ``gthread``, werkzeug ``threaded=True``, waitress):
a CPU capture holds its worker thread for ``seconds`` while the others keep serving.
With gunicorn, ``--timeout`` must exceed ``max_seconds`` for the sync worker class.
"""

from __future__ import annotations

import socket
from typing import Any, Callable, Dict, Iterable, Optional

from profkit.endpoints import http
from profkit.endpoints.config import EndpointConfig
from profkit.endpoints.core import ProfileEndpoints
from profkit.endpoints.request_labels import LabelsFactory, call_labelled, labels_factory
from profkit.endpoints.request_profile_calls import call_wsgi, wsgi_asks

WSGIApp = Callable[[Dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _disconnect_probe(environ: Dict[str, Any]) -> Callable[[], bool]:
    """Return a check for a closed client connection, from the server's socket if exposed.

    werkzeug (``werkzeug.socket``) and gunicorn (``gunicorn.socket``) expose it; other
    servers get a check that always says "still connected".
    """
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if sock is None or not hasattr(sock, "recv"):
        return lambda: False

    def disconnected() -> bool:
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except (OSError, ValueError):
            return True

    return disconnected


def _headers(environ: Dict[str, Any]) -> Dict[str, str]:
    out: Dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            out[key[5:].replace("_", "-").lower()] = str(value)
    return out


class ProfileMiddleware:
    """Wrap a WSGI ``app``; requests under ``config.prefix`` get profiles.

    Args:
        app: the WSGI application to wrap (not modified).
        config: an ``EndpointConfig``; or pass its fields as keyword arguments
            (``prefix``, ``allow``, ``token``, ``max_seconds``, ``enable``, ...).
        route_label: maps the WSGI environ to the ``route`` label (default: the path;
            framework helpers give the route template, e.g. ``/books/<int:id>``).

    Raises:
        InputError: a bad option (unknown ``enable`` feature, malformed ``allow``).
    """

    def __init__(
        self,
        app: WSGIApp,
        config: Optional[EndpointConfig] = None,
        *,
        route_label: Optional[Callable[[Dict[str, Any]], str]] = None,
        **options: Any,
    ):
        self.app = app
        self.route_label = route_label
        self.config = config if config is not None else EndpointConfig(**options)
        self.endpoints = ProfileEndpoints(self.config)
        self.close = self.endpoints.close
        self.labels: Optional[LabelsFactory] = (
            labels_factory() if self.config.request_labels else None
        )

    def _route(self, environ: Dict[str, Any], path: str) -> str:
        if self.route_label is None:
            return path
        try:
            return self.route_label(environ)
        except Exception:
            return path

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        """Answer a profile request, or call the app inside the request's labels."""
        path = environ.get("PATH_INFO", "") or "/"
        sub = self.endpoints.subpath(path)
        if sub is None:
            kv = {"route": self._route(environ, path), "method": str(environ.get("REQUEST_METHOD", ""))}
            profiles = self.endpoints.request_profiles
            asked = self.config.request_profiles and wsgi_asks(environ) and profiles.allowed(
                environ.get("REMOTE_ADDR") or None, _headers(environ))
            if asked or profiles.auto:
                return call_labelled(self.labels, kv, call_wsgi, profiles, asked, environ,
                                     start_response, self.app, kv["route"])
            return call_labelled(self.labels, kv, self.app, environ, start_response)
        request = http.Request(
            method=str(environ.get("REQUEST_METHOD", "GET")),
            path=sub,
            query_string=str(environ.get("QUERY_STRING", "")),
            client=environ.get("REMOTE_ADDR") or None,
            headers=_headers(environ),
            base_path=str(environ.get("SCRIPT_NAME", "")).rstrip("/"),
            disconnected=_disconnect_probe(environ),
        )
        response = self.endpoints.handle(request)
        start_response(response.status_line(), response.headers)
        return [response.body]
