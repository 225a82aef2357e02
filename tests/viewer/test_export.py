"""``profkit flamegraph``: the self-contained page, opened from file:// with no network.

The page is written by the real CLI; Chromium opens it with every non-file
request aborted (and counted), then the flame graph, inverted view, top table,
search and diff colours are checked as in the app. Hostile names execute nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
from browser_helpers import act, boxes, by_name, pixel, wait_drawn
from viewer_profiles import XSS_NAMES

from profkit.render.html_export import SCRIPTS, STATIC, embed_json

PROFKIT = [sys.executable, "-m", "profkit"]


def flamegraph(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PROFKIT, "flamegraph", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def pages(profiles: Dict[str, Path], corpus: Path,
          tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    d = tmp_path_factory.mktemp("export")
    out = {"large": d / "large.html", "diff": d / "diff.html", "xss": d / "xss.html",
           "labelled": d / "labelled.html"}
    for args in ([str(corpus / "large.cpu"), "-o", str(out["large"])],
                 [str(profiles["new"]), "--base", str(profiles["base"]), "-o", str(out["diff"])],
                 [str(profiles["xss"]), "-o", str(out["xss"])],
                 [str(profiles["labelled"]), "--focus", "handle", "-o", str(out["labelled"])]):
        proc = flamegraph(*args)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == "" and proc.stderr.startswith("wrote ")
    return out


def test_embedding_escapes_markup_and_line_separators() -> None:
    el = embed_json({"n": "</script><b>&\u2028\u2029"})
    inner = el[el.index(">") + 1: -len("</script>")]
    assert not re.search(r"[<>&\u2028\u2029]", inner)
    assert json.loads(inner) == {"n": "</script><b>&\u2028\u2029"}


def test_large_export_is_small_and_self_contained(pages: Dict[str, Path]) -> None:
    html = pages["large"].read_text(encoding="utf-8")
    assert pages["large"].stat().st_size <= 1_000_000
    assert not re.search(r"""(src|href)=["']?(https?:|//|static/)""", html)
    assert '"encoding":"gzip+base64"' in html and "connect-src" not in html  # default-src 'none'
    assert "default-src 'none'" in html


def test_hostile_names_stay_data(pages: Dict[str, Path]) -> None:
    html = pages["xss"].read_text(encoding="utf-8")
    payload = html[html.index('id="payload">'):]
    for name in XSS_NAMES:
        assert name not in html
    assert "<script>window.__pwned" not in html and "<img" not in payload


def test_every_script_is_inlined_once(pages: Dict[str, Path]) -> None:
    html = pages["labelled"].read_text(encoding="utf-8")
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(inline) == 1  # one script, allowed by its hash
    for name in SCRIPTS:
        text = (STATIC / name).read_text(encoding="utf-8").replace("</script", "<\\/script")
        assert inline[0].count(text) == 1, name
    starts = [inline[0].index((STATIC / n).read_text(encoding="utf-8")[:200]) for n in SCRIPTS]
    assert starts == sorted(starts)  # in load order, viewer.js last


def test_bad_input_leaves_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(b"\x1f\x8bxx")
    out = tmp_path / "out.html"
    proc = flamegraph(str(bad), "-o", str(out))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "bad.pb.gz" in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("*.tmp*"))
    proc = flamegraph(str(bad), "--focus", "(", "-o", str(out))
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and not out.exists()


@pytest.fixture
def offline(page: Any) -> List[str]:
    """Abort (and record) every request that is not for a file: URL."""
    blocked: List[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith("file:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return blocked




@pytest.mark.browser
@pytest.mark.slow
def test_large_export_offline(page: Any, offline: List[str], pages: Dict[str, Path]) -> None:
    page.goto(pages["large"].as_uri())
    wait_drawn(page)
    bs = boxes(page)
    assert by_name(bs, "root")["w"] > 1000 and by_name(bs, "main.next")["y"] == 54
    assert page.inner_text("#title").endswith("large.cpu")
    act(page, lambda: page.fill("#search", "runtime\\.mallocgc"))
    page.wait_for_function("document.getElementById('status').textContent.includes('matched')")
    act(page, lambda: page.click("#tabs button[data-view=inverted]"))
    assert by_name(boxes(page, "inverted"), "root")["w"] > 1000
    act(page, lambda: page.click("#tabs button[data-view=top]"))
    assert page.locator("#top tbody tr").count() == 500
    assert page.locator("#sample").is_hidden()  # server-side controls are not offered
    act(page, page.go_back)
    assert page.locator("#view-inverted").is_visible()
    assert offline == []


@pytest.mark.browser
@pytest.mark.slow
def test_export_runs_under_its_own_csp(browser: Any, pages: Dict[str, Path]) -> None:
    """Without bypass_csp: the page's own policy admits its one inlined script.

    No eval here (the policy forbids it): waits are on selectors only.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        pg = context.new_page()
        problems: List[str] = []
        pg.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
        pg.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        pg.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:")
                 else (problems.append(f"request: {r.request.url}"), r.abort()))
        pg.goto(pages["labelled"].as_uri() + "#view=top")
        pg.locator("body[data-draws]").wait_for(state="attached", timeout=30000)
        assert pg.locator("#top tbody tr").first.inner_text().startswith("60ms")
        assert "f=handle" in pg.inner_text("#filters")
        # no call graph in an export (no Graphviz offline): its URL shows the flame graph
        pg.goto(pages["labelled"].as_uri() + "#view=callgraph&gv=0,0,10,10")
        pg.locator("#view-flame:not([hidden])").wait_for()
        assert pg.locator("#tabs button[data-view=callgraph]").is_hidden()
        assert pg.locator("#callgraph svg").count() == 0
        assert problems == []
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_diff_export_offline(page: Any, offline: List[str], pages: Dict[str, Path]) -> None:
    page.goto(pages["diff"].as_uri())
    wait_drawn(page)
    bs = boxes(page)
    fresh, gone = by_name(bs, "newpath.fresh"), by_name(bs, "oldpath.gone")
    assert fresh["label"] == "[new] newpath.fresh" and gone["label"] == "[vanished] oldpath.gone"
    assert pixel(page, "flame", fresh["x"] + 1, fresh["y"] + 1) == [200, 0, 0]
    assert pixel(page, "flame", gone["x"] + 1, gone["y"] + 1) == [30, 70, 200]
    assert offline == []


@pytest.mark.browser
@pytest.mark.slow
def test_filtered_export_keeps_its_filters(page: Any, offline: List[str],
                                           pages: Dict[str, Path]) -> None:
    page.goto(pages["labelled"].as_uri() + "#view=top")
    wait_drawn(page)
    assert "f=handle" in page.inner_text("#filters")
    assert page.locator("#top tbody tr").first.inner_text().startswith("60ms")


@pytest.mark.browser
@pytest.mark.slow
def test_xss_export_executes_nothing(page: Any, offline: List[str], pages: Dict[str, Path]) -> None:
    page.goto(pages["xss"].as_uri() + "#view=top")
    wait_drawn(page)
    text = page.inner_text("#top")
    for name in XSS_NAMES:
        assert name.replace("\u2028", "") in text.replace("\u2028", "")
    assert page.locator("#top img, #top b").count() == 0
    assert page.evaluate("window.__pwned") is None and offline == []
