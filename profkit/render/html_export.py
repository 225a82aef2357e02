"""The viewer's page, and the self-contained HTML export of a flame report.

The page's files live in ``profkit/viewer/static/`` (read here as package data,
without importing the viewer, which needs Flask). ``ASSETS`` is the fixed table of
names the app may serve: no path from a request ever reaches the filesystem.

``render(report)`` (registered as ``flame``/``html``) returns one HTML file that
needs no network: the page's style and scripts inlined, the flame payload of
``profkit.views.flame`` embedded in a ``<script type="application/json">`` element
by ``embed_json``, which escapes ``<``, ``>``, ``&`` and U+2028/U+2029 so that no
name from a profile can close the element or be parsed as markup. A large payload
is stored gzip'd and base64-encoded inside that JSON (the page inflates it with
the browser's DecompressionStream); a Content-Security-Policy allows only the
inlined scripts (by hash) and no connection at all.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

from profkit.report import Report

__all__ = ["ASSETS", "SCRIPTS", "asset", "embed_json", "export_page", "page_html", "render",
           "with_state"]

STATIC = Path(__file__).resolve().parent.parent / "viewer" / "static"
#: Scripts in load order: the payload model, drawing, tables, then the page (viewer.js last).
SCRIPTS = ("flame_data.js", "flame_draw.js", "tables.js", "url_state.js", "controls.js",
           "callgraph.js", "viewer.js")
#: name -> media type: the only files the app serves.
ASSETS: Dict[str, str] = {
    "viewer.css": "text/css; charset=utf-8",
    **{name: "text/javascript; charset=utf-8" for name in SCRIPTS},
}
#: Payloads whose JSON is larger than this are embedded gzip'd.
COMPRESS_ABOVE = 256 * 1024

_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                 "\u2028": "\\u2028", "\u2029": "\\u2029"}


@cache
def _read(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def asset(name: str) -> Optional[Tuple[str, str]]:
    """Return (text, media type) of a shipped asset; None for any other name."""
    media = ASSETS.get(name)
    if media is None:
        return None
    return _read(name), media


def page_html() -> str:
    """Return the app's page: ``index.html`` linking the served assets, no payload."""
    scripts = "".join(f'<script src="static/{s}"></script>' for s in SCRIPTS)
    return (_read("index.html")
            .replace("<!--STYLE-->", '<link rel="stylesheet" href="static/viewer.css">')
            .replace("<!--SCRIPTS-->", scripts).replace("<!--PAYLOAD-->", ""))


def embed_json(obj: Any, element_id: str = "payload") -> str:
    """Return a ``<script type="application/json">`` element holding ``obj`` safely."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    for ch, esc in _JSON_ESCAPES.items():
        text = text.replace(ch, esc)
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def _script_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def export_page(payload: Dict[str, Any], state: Optional[Dict[str, str]] = None) -> str:
    """Return the self-contained page showing ``payload`` (view ``state``: URL names)."""
    raw = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    if len(raw) > COMPRESS_ABOVE:
        packed = base64.b64encode(gzip.compress(raw.encode("utf-8"), 9, mtime=0))
        body: Any = {"encoding": "gzip+base64", "data": packed.decode("ascii")}
    else:
        body = {"encoding": "json", "data": payload}
    js = "\n".join(_read(s) for s in SCRIPTS).replace("</script", "<\\/script")
    csp = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src {_script_hash(js)}")
    head = (f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
            "<style>" + _read("viewer.css") + "</style>")
    return (_read("index.html").replace("<!--STYLE-->", head)
            .replace("<!--SCRIPTS-->", f"<script>{js}</script>")
            .replace("<!--PAYLOAD-->", embed_json(state or {}, "state") + embed_json(body)))


def with_state(page: str, state: Dict[str, str]) -> str:
    """Return an exported ``page`` that opens on view ``state`` (URL parameter names).

    The state element comes before the payload, and no name inside the payload can
    spell it (``<`` is escaped there), so the first match is the one replaced.
    """
    marker = '<script type="application/json" id="state">'
    start = page.index(marker)
    end = page.index("</script>", start) + len("</script>")
    return page[:start] + embed_json(state, "state") + page[end:]


def render(report: Report) -> str:
    """Return the self-contained HTML flame graph of ``report`` (see module doc)."""
    from profkit.views.flame import flame_from_report

    return export_page(flame_from_report(report), report.request.options.to_query())
