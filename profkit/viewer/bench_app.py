"""``profkit view --bench DIR``: the benchmark page in the viewer's Flask app.

``create_bench_app(store)`` is the viewer app (``app.create_app``: loopback guard, headers,
one-line errors) with no profile of its own, plus:

* ``/`` and ``/bench``: redirect to ``/bench/``;
* ``/bench/``: the page (``static/bench.html``): trends with change points (plotly) and the
  compare table; ``/bench/data.json``: ``BenchStore.doc``;
* ``/bench/static/<name>``: ``bench.js``, ``bench.css`` and plotly's own bundled
  ``plotly.min.js`` from the installed plotly package (never a CDN); any other name is 404;
* ``/bench/diff/<i>/...``: a whole viewer app (flame graph, top, ...) of regression ``i``:
  its new one-call profile with the base one as ``--base``, built on first use and kept. The
  viewer page uses relative URLs, so it works unchanged under that prefix.
"""

from __future__ import annotations

import json
import re
import threading
from functools import cache
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Optional

from flask import Flask, Response, abort, redirect

from profkit.viewer.app import ViewerConfig, create_app
from profkit.viewer.bench_data import BenchStore

__all__ = ["BENCH_ASSETS", "create_bench_app"]

_STATIC = Path(__file__).resolve().parent / "static"
#: name -> media type: the only files the bench page serves.
BENCH_ASSETS: Dict[str, str] = {
    "bench.js": "text/javascript; charset=utf-8",
    "bench.css": "text/css; charset=utf-8",
    "plotly.min.js": "text/javascript; charset=utf-8",
}
# plotly sets inline styles and injects a <style> element: the bench page allows inline style.
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
_DIFF = re.compile(r"^/bench/diff/(\d+)(/.*)?$")


@cache
def _asset_text(name: str) -> str:
    if name == "plotly.min.js":
        import plotly

        path = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
        return path.read_text(encoding="utf-8")
    return (_STATIC / name).read_text(encoding="utf-8")


class _DiffMount:
    """WSGI wrapper: ``/bench/diff/<i>/rest`` goes to regression ``i``'s viewer app."""

    def __init__(self, outer: Callable[..., Iterable[bytes]], child: Callable[[int], Optional[Flask]]) -> None:
        self.outer, self.child = outer, child

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        m = _DIFF.match(environ.get("PATH_INFO", ""))
        app = self.child(int(m.group(1))) if m else None
        if m is None or app is None:
            return self.outer(environ, start_response)
        if m.group(2) is None:  # the page's relative URLs need the trailing slash
            start_response("308 Permanent Redirect", [("Location", f"{m.group(0)}/"),
                                                      ("Content-Length", "0")])
            return [b""]
        environ = dict(environ, SCRIPT_NAME=environ.get("SCRIPT_NAME", "") + m.group(0)[:-len(m.group(2))],
                       PATH_INFO=m.group(2))
        return app.wsgi_app(environ, start_response)


def create_bench_app(store: BenchStore, *, allow_remote: bool = False) -> Flask:
    """Return the app serving ``store`` (see module doc)."""
    app = create_app(ViewerConfig((), allow_remote=allow_remote, title="profkit bench"))
    children: Dict[int, Flask] = {}
    lock = threading.Lock()

    def child(i: int) -> Optional[Flask]:
        if i >= len(store.diffs):
            return None
        with lock:
            if i not in children:
                name, base, new = store.diffs[i]
                children[i] = create_app(ViewerConfig([new], [base], allow_remote=allow_remote,
                                                      title=f"{name} (per call, vs base)"))
            return children[i]

    def _to_bench() -> Any:
        return redirect("/bench/", code=302)

    app.view_functions["_page"] = _to_bench  # no profile of its own: "/" is the bench page
    app.add_url_rule("/bench", "bench_root", _to_bench)

    @app.get("/bench/")
    def bench_page() -> Response:
        resp = Response(_asset_text("bench.html"), mimetype="text/html")
        resp.headers["Content-Security-Policy"] = _CSP
        return resp

    @app.get("/bench/data.json")
    def bench_data() -> Response:
        return Response(json.dumps(store.doc), mimetype="application/json")

    @app.get("/bench/static/<name>")
    def bench_static(name: str) -> Response:
        media = BENCH_ASSETS.get(name)
        if media is None:
            abort(404)
        resp = Response(_asset_text(name), content_type=media)
        if name == "plotly.min.js":  # 4.8 MB, fixed while the app runs: Back need not refetch it
            resp.headers["Cache-Control"] = "private, max-age=3600"
        return resp

    app.wsgi_app = _DiffMount(app.wsgi_app, child)  # type: ignore[method-assign]
    return app
