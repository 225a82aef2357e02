"""The viewer's report routes: query string -> ``ReportRequest`` -> ``produce``.

Every route builds its request the same way (``request_for``): the app's inputs,
the diff base when one was given, and the query's pprof parameters; the kind and
format are the route's, whatever the query says. Outputs are cached per request.
``/api/meta`` tells the page which optional tabs exist (``list`` JSON, ``dot``
SVG: shown only once registered) and which refine parameters the options take.
``/api/labels`` is the label filter's data, asked for only when the filter is
opened: it is the one route that loads every sample's labels (the flame payload
does not, which is most of the start-up time on a 1 M-sample profile).
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

from flask import Flask, Response, abort, request

from profkit.errors import InputError
from profkit.options import ViewOptions
from profkit.render.html_export import with_state
from profkit.render.registry import RENDERERS, find, produce
from profkit.report.request import ReportRequest

__all__ = ["VIEW_STATE", "refine_params", "register", "request_for", "warm"]

#: Page-only state (never sent to the report engine) kept in a downloaded page.
VIEW_STATE = ("view", "z", "search", "p", "sort", "tq")
#: Optional tabs: (kind, format) the page uses when the registry has them.
OPTIONAL = {"source": ("list", "json"), "callgraph": ("dot", "svg")}
_REFINE_CANDIDATES = ("f", "i", "h", "s", "sf")


def refine_params() -> List[str]:
    """Return the refine URL parameters ViewOptions understands (``sf`` when supported)."""
    out = []
    for key in _REFINE_CANDIDATES:
        if key in ViewOptions.from_query({key: "x"}).to_query():
            out.append(key)
    return out


def _has(kind: str, fmt: str) -> bool:
    return any(r.kind == kind and r.format == fmt for r in RENDERERS)


def request_for(config: Any, kind: str, fmt: str) -> ReportRequest:
    """Return the request the current query asks of report (``kind``, ``fmt``)."""
    query: Dict[str, Any] = request.args.to_dict(flat=False)
    for key, values in query.items():
        if any("\x00" in v for v in values):
            raise InputError(f"parameter {key!r} holds a NUL character")
    req = ReportRequest.from_query(config.sources, query, diff_base=list(config.bases))
    return req.with_changes(kind=kind, format=fmt, want_profile=find(kind, fmt).needs_profile)


def _produce(app: Flask, req: ReportRequest) -> Any:
    key = (req.kind, req.format, tuple(sorted(req.options.to_query().items())), req.pattern)
    return app.extensions["profkit_cache"].get(key, lambda: produce(req))


def _label_json(req: ReportRequest) -> str:
    from profkit.report import build
    from profkit.views.flame import labels_from_report

    return json.dumps(labels_from_report(build(req)), separators=(",", ":"), ensure_ascii=False)


def warm(app: Flask) -> None:
    """Build the default view once (errors raise ProfkitError), so the first page is quick."""
    config = app.config["PROFKIT"]
    with app.test_request_context("/api/flame"):
        _produce(app, request_for(config, "flame", "json"))


def register(app: Flask, config: Any) -> None:
    """Add the report routes to ``app``."""

    @app.get("/api/meta")
    def _meta() -> Response:
        tabs = [name for name, (k, f) in OPTIONAL.items() if _has(k, f)]
        body = {"tabs": tabs, "refine": refine_params(), "title": config.title}
        return Response(json.dumps(body), mimetype="application/json")

    @app.get("/api/flame")
    def _flame() -> Response:
        out = _produce(app, request_for(config, "flame", "json"))
        return Response(out, mimetype="application/json")

    @app.get("/api/labels")
    def _labels() -> Response:
        req = request_for(config, "flame", "json").with_changes(kind="labels", want_profile=False)
        key = ("labels", "json", tuple(sorted(req.options.to_query().items())), "")
        out = app.extensions["profkit_cache"].get(key, lambda: _label_json(req))
        return Response(out, mimetype="application/json")

    @app.get("/api/<kind>")
    def _report(kind: str) -> Response:
        if kind not in ("top", "list", "tree", "peek") or not _has(kind, "json"):
            abort(404)
        return Response(_produce(app, request_for(config, kind, "json")),
                        mimetype="application/json")

    @app.get("/api/dot.svg")
    def _svg() -> Response:
        if not _has("dot", "svg"):
            abort(404)
        out = _produce(app, request_for(config, "dot", "svg"))
        return Response(out, mimetype="image/svg+xml")

    @app.get("/download/profile.pb.gz")
    def _download_profile() -> Response:
        out = _produce(app, request_for(config, "proto", "pprof"))
        return Response(out, mimetype="application/vnd.google.protobuf+gzip", headers={
            "Content-Disposition": "attachment; filename=profile.pb.gz"})

    @app.get("/download/flamegraph.html")
    def _download_page() -> Response:
        page = _produce(app, request_for(config, "flame", "html"))
        state = {k: request.args[k] for k in VIEW_STATE if k in request.args}
        return Response(with_state(page, state), mimetype="text/html", headers={
            "Content-Disposition": "attachment; filename=flamegraph.html"})
