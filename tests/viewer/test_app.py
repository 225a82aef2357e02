"""The viewer app over real HTTP (werkzeug on loopback): routes, errors, access policy.

One server per module; requests with urllib. Non-loopback clients are simulated
with Flask's test client (REMOTE_ADDR), since servers here bind loopback only.
"""

from __future__ import annotations

import gzip
import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from profkit.model import parse
from profkit.render.html_export import ASSETS, SCRIPTS
from profkit.viewer import ViewerConfig, create_app
from profkit.viewer.routes import warm


def get(url: str, headers: Dict[str, str] | None = None) -> Tuple[int, Dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


@pytest.fixture(scope="module")
def server(serve: Any, profiles: Dict[str, Path]) -> Any:
    app = create_app(ViewerConfig([str(profiles["labelled"])]))
    warm(app)
    return serve(app)


@pytest.fixture(scope="module")
def diff_server(serve: Any, profiles: Dict[str, Path]) -> Any:
    return serve(create_app(ViewerConfig([str(profiles["new"])], [str(profiles["base"])])))


def test_page_and_assets(server: Any) -> None:
    status, headers, body_page = get(server.url("/"))
    assert status == 200 and b'<canvas id="flame">' in body_page
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert set(SCRIPTS) < set(ASSETS) and "viewer.css" in ASSETS
    for name in ASSETS:
        status, headers, body = get(server.url(f"/static/{name}"))
        assert status == 200 and len(body) > 500, name
    # the page loads every script, in order, viewer.js (which starts the page) last
    srcs = [m.decode() for m in re.findall(rb'<script src="static/([^"]+)"></script>', body_page)]
    assert srcs == list(SCRIPTS) and srcs[-1] == "viewer.js"


@pytest.mark.parametrize("path", [
    "/static/../app.py", "/static/%2e%2e%2fapp.py", "/static/index.html", "/static/..%2f..%2fetc%2fpasswd",
    "/static/app.py", "/../../etc/passwd", "/static/viewer.js/../../__init__.py", "/api/proto",
])
def test_nothing_else_is_served(server: Any, path: str) -> None:
    status, _h, body = get(server.url(path))
    assert status == 404, (path, body[:100])
    assert b"Traceback" not in body and b"import" not in body


def test_flame_payload_follows_the_query(server: Any) -> None:
    status, headers, body = get(server.url("/api/flame?si=samples&f=render&report=proto"))
    assert status == 200 and headers["Content-Type"] == "application/json"
    p = json.loads(body)
    assert p["type"] == "samples" and sum(p["values"]) == 3  # the render samples: 2 + 1
    assert p["filters"] == {"si": "samples", "f": "render"}


@pytest.mark.parametrize("query, words", [
    ("f=(", "focus"), ("si=nosuchtype", "nosuchtype"), ("g=bytes", "granularity"),
    ("n=ten", "n must be a number"), ("tf=route=(", "tagfocus"), ("sort=up", "sort"),
])
def test_bad_parameters_are_400_with_one_line(server: Any, query: str, words: str) -> None:
    for route in ("/api/flame", "/download/profile.pb.gz", "/download/flamegraph.html"):
        status, headers, body = get(server.url(f"{route}?{query}"))
        text = body.decode()
        assert status == 400, (route, query, text)
        assert headers["Content-Type"].startswith("text/plain")
        assert words in text and text.count("\n") == 1 and "Traceback" not in text


def test_download_profile_is_the_filtered_profile(server: Any) -> None:
    status, headers, body = get(server.url("/download/profile.pb.gz?f=db"))
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    p = parse(body)
    assert sum(s.values[1] for s in p.samples) == 30_000_000
    assert gzip.decompress(body)


def test_download_page_keeps_the_view(server: Any) -> None:
    status, headers, body = get(server.url("/download/flamegraph.html?view=top&sort=cum&f=app"))
    assert status == 200 and "attachment" in headers["Content-Disposition"]
    html = body.decode()
    assert '<script type="application/json" id="state">{"view":"top","sort":"cum"}</script>' in html
    assert 'src="static/' not in html  # self-contained


def test_label_route_counts_every_sample(server: Any) -> None:
    status, headers, body = get(server.url("/api/labels?si=samples&tf=route=/books&f=db"))
    assert status == 200 and headers["Content-Type"] == "application/json"
    got = json.loads(body)
    assert got["type"] == "samples" and got["unit"] == "count"
    assert got["labels"]["route"] == [["/search", 2, 8], ["/books", 2, 4]]  # before any filter
    status, _h, body = get(server.url("/api/labels?si=nosuchtype"))
    assert status == 400 and b"nosuchtype" in body and body.count(b"\n") == 1


def test_diff_server_payload(diff_server: Any) -> None:
    status, _h, body = get(diff_server.url("/api/flame"))
    p = json.loads(body)
    assert status == 200 and p["diff"] and p["bases"] and len(p["base"]) == 4


def test_meta_lists_refine_parameters(server: Any) -> None:
    status, _h, body = get(server.url("/api/meta"))
    meta = json.loads(body)
    assert status == 200 and {"f", "i", "h", "s"} <= set(meta["refine"])


def test_foreign_host_header_is_refused(server: Any) -> None:
    status, _h, body = get(server.url("/api/flame"), {"Host": f"evil.example:{server.port}"})
    assert status == 403 and b"loopback" in body


def test_remote_clients_refused_unless_host_given(profiles: Dict[str, Path]) -> None:
    remote = {"REMOTE_ADDR": "192.0.2.7"}
    closed = create_app(ViewerConfig([str(profiles["labelled"])])).test_client()
    for path in ("/", "/api/flame", "/static/viewer.js"):
        r = closed.get(path, environ_base=remote)
        assert r.status_code == 403 and b"--host" in r.data
    assert closed.get("/", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200
    opened = create_app(ViewerConfig([str(profiles["labelled"])], allow_remote=True)).test_client()
    r = opened.get("/api/flame", environ_base=remote, headers={"Host": "viewer.example"})
    assert r.status_code == 200


def test_unreadable_input_is_one_line_500(serve: Any, tmp_path: Path) -> None:
    bad = tmp_path / "broken.pb.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    srv = serve(create_app(ViewerConfig([str(bad)])))
    status, _h, body = get(srv.url("/api/flame"))
    text = body.decode()
    assert status == 500 and "broken.pb.gz" in text and text.count("\n") == 1
