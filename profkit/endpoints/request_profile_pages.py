"""``<prefix>/requests`` (the list of kept request profiles) and ``<prefix>/requests/<id>``.

The list is HTML by default and JSON with ``?format=json`` (``{"requests": [...]}``,
newest first, each with id, method, route, path, status, duration_s, time_s, trigger,
bytes and url). Every value from a request (path, route, method) is escaped in HTML.
A download is the gzipped ``profile.proto`` as ``request-<id>.pb.gz``; an unknown id is
a 404 ``Unknown request profile``, a bad ``format`` a 400.
"""

from __future__ import annotations

import json
import time
from html import escape
from typing import Dict
from urllib.parse import quote

from profkit.endpoints import http
from profkit.endpoints.request_profile_store import ProfileStore, RequestProfile

UNKNOWN = "Unknown request profile"
BAD_FORMAT = 'invalid value for "format" - must be html or json'
_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{padding:.3em .8em;text-align:left}tr:nth-child(even){background:#f3f3f3}"
    "td.n{text-align:right}code{background:#eee;padding:0 .2em}"
)


def _url(mount: str, rec: RequestProfile) -> str:
    return quote(f"{mount}/requests/{rec.id}", safe="/")


def _when(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _row(mount: str, rec: RequestProfile) -> str:
    cells = [
        f'<a href="{escape(_url(mount, rec), quote=True)}">{escape(rec.id)}</a>',
        escape(rec.method), escape(rec.route), escape(rec.path), str(rec.status),
        f"{rec.duration_s * 1000:.1f}", escape(_when(rec.time_s)), escape(rec.trigger),
        str(len(rec.data)),
    ]
    classes = ["", "", "", "", "n", "n", "", "", "n"]
    return "<tr>" + "".join(
        f'<td class="{c}">{v}</td>' if c else f"<td>{v}</td>" for c, v in zip(classes, cells)
    ) + "</tr>"


def render_list(mount: str, store: ProfileStore) -> str:
    """Return the HTML list of kept profiles for endpoints mounted at ``mount``."""
    rows = [_row(mount, r) for r in store.records()]
    head = "".join(f"<th>{h}</th>" for h in (
        "id", "method", "route", "path", "status", "ms", "time (UTC)", "kept as", "bytes"))
    example = escape("curl -H 'X-Profkit-Profile: 1' http://HOST/some/page")
    view = escape(f"profkit view http://HOST{mount}/requests/ID")
    body = "\n".join(rows) if rows else '<tr><td colspan="9">no request profiles yet</td></tr>'
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{escape(mount)}/requests</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>Request profiles ({len(rows)}, {store.total_bytes()} bytes)</h1>\n"
        f"<p>Ask for one with <code>{example}</code> (or <code>?profkit_profile=1</code>); "
        f"open one with <code>{view}</code>.</p>\n"
        f"<table><tr>{head}</tr>\n{body}\n</table>\n</body></html>\n"
    )


def handle(mount: str, store: ProfileStore, sub: str, query: Dict[str, str]) -> http.Response:
    """Answer ``sub`` (``/requests`` or ``/requests/<id>``, relative to the prefix)."""
    if sub in ("/requests", "/requests/"):
        fmt = query.get("format", "html") or "html"
        if fmt == "json":
            items = []
            for rec in store.records():
                item = rec.summary()
                item["url"] = _url(mount, rec)
                items.append(item)
            return _json({"requests": items})
        if fmt != "html":
            return http.error(400, BAD_FORMAT)
        return http.html(render_list(mount, store))
    rid = sub[len("/requests/"):]
    found = store.get(rid) if rid.isdigit() else None
    if found is None:
        return http.error(404, UNKNOWN)
    return http.profile_bytes(found.data, f"request-{found.id}.pb.gz")


def _json(value: object) -> http.Response:
    data = json.dumps(value).encode("utf-8")
    return http.Response(200, [
        ("Content-Type", "application/json"), ("Content-Length", str(len(data))),
        ("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"),
    ], data)
