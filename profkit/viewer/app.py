"""The viewer's Flask app: the page, its assets, and report routes over ``produce``.

Routes (every report route reads pprof's URL parameter names through
``ReportRequest.from_query`` and answers with ``profkit.render.registry.produce``):

* ``/``: the page (``profkit.render.html_export.page_html``);
* ``/static/<name>``: one of the fixed ``ASSETS`` (404 for any other name);
* ``/api/flame``: the flame payload (JSON) of the request;
* ``/api/<kind>``: the JSON output of another registered report kind (``top``;
  ``list`` and ``dot`` when registered: ``viewer.routes``);
* ``/download/profile.pb.gz``: the filtered profile as pprof;
* ``/download/flamegraph.html``: the current view as a self-contained page.

Access: clients other than loopback get 403 and so do requests whose Host header
is not a loopback name (DNS rebinding), unless ``ViewerConfig.allow_remote`` (set
when ``--host`` was given explicitly). A bad parameter is a 400 with one line of
text; a failure is a 500 with one line; never a traceback.
"""

from __future__ import annotations

import ipaddress
import sys
from dataclasses import dataclass
from typing import Any, Sequence

from flask import Flask, Response, abort, request

from profkit.errors import CommandError, InputError, ProfkitError
from profkit.render.html_export import asset, page_html
from profkit.report.request import Source
from profkit.viewer.cache import OutputCache

__all__ = ["ViewerConfig", "create_app", "is_loopback"]

_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


@dataclass
class ViewerConfig:
    """What the app shows and who may see it.

    ``sources`` are merged; ``bases`` make every view a diff (pprof -diff_base).
    ``allow_remote`` lifts the loopback-only rule (an explicit ``--host``).
    """

    sources: Sequence[Source]
    bases: Sequence[Source] = ()
    allow_remote: bool = False
    cache_size: int = 8
    title: str = "profkit"


def is_loopback(addr: str) -> bool:
    """Return whether ``addr`` (an IP address as text) is a loopback address."""
    try:
        ip = ipaddress.ip_address(addr.split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _host_name(host: str) -> str:
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _text(status: int, message: str) -> Response:
    first = " ".join(message.split())  # one line, whatever the message held
    return Response(first + "\n", status=status, mimetype="text/plain")


def create_app(config: ViewerConfig) -> Flask:
    """Return the viewer app for ``config`` (see module doc)."""
    from profkit.viewer import routes

    app = Flask("profkit.viewer", static_folder=None, template_folder=None)
    app.config["PROFKIT"] = config
    app.extensions["profkit_cache"] = OutputCache(config.cache_size)

    @app.before_request
    def _guard() -> Any:
        if config.allow_remote:
            return None
        if not is_loopback(request.remote_addr or ""):
            return _text(403, "profkit view serves loopback clients only "
                              "(start it with --host ADDRESS to allow others)")
        if _host_name(request.host.lower()) not in _LOOPBACK_HOSTS:
            return _text(403, f"Host {request.host!r} is not a loopback name "
                              "(open the viewer as http://127.0.0.1:PORT/)")
        return None

    @app.after_request
    def _headers(resp: Response) -> Response:
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
        return resp

    @app.errorhandler(InputError)
    def _bad_input(e: InputError) -> Response:
        return _text(400, str(e))

    @app.errorhandler(ProfkitError)
    def _failed(e: ProfkitError) -> Response:
        usage = isinstance(e, CommandError) and e.exit_code == 2  # the request asks wrongly
        return _text(400 if usage else 500, str(e))

    @app.errorhandler(404)
    def _not_found(e: Exception) -> Response:
        return _text(404, f"no such page: {request.path}")

    @app.errorhandler(405)
    def _bad_method(e: Exception) -> Response:
        return _text(405, f"method {request.method} not allowed here")

    @app.errorhandler(Exception)
    def _internal(e: Exception) -> Response:
        if isinstance(e, ProfkitError):
            return _failed(e)
        code = getattr(e, "code", None)
        if isinstance(code, int) and 400 <= code < 500:
            return _text(code, getattr(e, "description", "") or "bad request")
        print(f"profkit view: internal error: {type(e).__name__}: {e}", file=sys.stderr)
        return _text(500, f"internal error: {type(e).__name__}")

    @app.get("/")
    def _page() -> Response:
        return Response(page_html(), mimetype="text/html")

    @app.get("/favicon.ico")
    def _favicon() -> Response:
        return Response(status=204)

    @app.get("/static/<name>")
    def _static(name: str) -> Response:
        found = asset(name)
        if found is None:
            abort(404)
        text, media = found
        return Response(text, content_type=media)

    routes.register(app, config)
    return app
