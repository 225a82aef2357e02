"""The HTML index at the mount prefix: every profile with a link and a short description.

Every piece of text and every URL is escaped (the prefix and the WSGI ``SCRIPT_NAME``
come from configuration and the server, not from us).
"""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from profkit.endpoints.catalog import KINDS, feature_enabled
from profkit.endpoints.config import EndpointConfig

_TEXT_DEBUG = {"threads": (1, 2)}
NOT_IN_GO = ("wall",)
_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{padding:.3em .8em;text-align:left;vertical-align:top}"
    "tr:nth-child(even){background:#f3f3f3}code{background:#eee;padding:0 .2em}"
)


def _href(mount: str, name: str, query: str = "") -> str:
    url = quote(f"{mount}/{name}", safe="/")
    return escape(url + (f"?{query}" if query else ""), quote=True)


def render_index(mount: str, config: EndpointConfig) -> str:
    """Return the index page for endpoints mounted at ``mount`` (an absolute path)."""
    rows = []
    for kind in KINDS:
        links = [f'<a href="{_href(mount, kind.name)}">{escape(kind.name)}</a>']
        if kind.timed:
            seconds = min(config.default_seconds, config.max_seconds)
            links = [
                f'<a href="{_href(mount, kind.name, f"seconds={seconds}")}">{escape(kind.name)}</a>'
            ]
        for level in _TEXT_DEBUG.get(kind.name, ()):
            links.append(f'<a href="{_href(mount, kind.name, f"debug={level}")}">debug={level}</a>')
        go_name = ", ".join(kind.aliases) or ("" if kind.name in NOT_IN_GO else kind.name)
        description = escape(kind.description)
        if kind.feature is not None and not feature_enabled(kind.feature):
            description += f" <em>(off: mount with enable=[&quot;{escape(kind.feature)}&quot;])</em>"
        rows.append(
            f"<tr><td>{' '.join(links)}</td><td>{escape(go_name)}</td><td>{description}</td></tr>"
        )
    example = escape(f"go tool pprof http://HOST{mount}/profile?seconds=10")
    # a trailing slash makes `profkit capture` read the URL as a prefix, whatever its name
    target = f"http://HOST{mount}/" if mount else "http://HOST/cpu"
    capture = escape(f"profkit capture {target} --seconds 10 -o cpu.pb.gz")
    return (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        f"<title>{escape(mount)}/</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{escape(mount)}/</h1>\n"
        "<p>Profiles of this process, in pprof's <code>profile.proto</code> format.</p>\n"
        "<table><tr><th>profile</th><th>Go name</th><th>what it shows</th></tr>\n"
        + "\n".join(rows)
        + "\n</table>\n"
        f"<p>From a terminal: <code>{capture}</code> or <code>{example}</code></p>\n"
        + _requests_line(mount, config)
        + "</body></html>\n"
    )


def _requests_line(mount: str, config: EndpointConfig) -> str:
    """The paragraph linking the kept per-request profiles (when they are on)."""
    if not config.request_profiles:
        return ""
    return (
        f'<p><a href="{_href(mount, "requests")}">requests</a>: profiles of single requests '
        "that asked for one (header <code>X-Profkit-Profile: 1</code> or "
        "<code>?profkit_profile=1</code>)</p>\n"
    )
