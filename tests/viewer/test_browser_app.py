"""The viewer in real headless Chromium, against the app served by werkzeug.

One server per profile and one browser for the module; each test opens a page
and drives it like a user (clicks, typing, select boxes, Back), then checks what
was drawn: box geometry from the page's layout and colours from canvas pixels.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest
from browser_helpers import act, boxes, by_name, click_box, draws, open_labels, pixel, wait_drawn

from profkit.analysis.measurement import label
from profkit.options import ViewOptions
from profkit.report import ReportRequest, build
from profkit.viewer import ViewerConfig, create_app
from profkit.views.top import top_from_report

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers(serve: Any, profiles: Dict[str, Path]) -> Dict[str, Any]:
    return {
        "labelled": serve(create_app(ViewerConfig([str(profiles["labelled"])]))),
        "diff": serve(create_app(ViewerConfig([str(profiles["new"])], [str(profiles["base"])]))),
        "xss": serve(create_app(ViewerConfig([str(profiles["xss"])]))),
        "numeric": serve(create_app(ViewerConfig([str(profiles["numeric"])]))),
    }


def open_view(page: Any, server: Any, query: str = "") -> Any:
    page.goto(server.url("/" + query))
    wait_drawn(page)
    return page


def test_load_draws_the_icicle(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    bs = boxes(page)
    width = by_name(bs, "root")["w"]
    assert by_name(bs, "root")["y"] == 0 and by_name(bs, "app.main")["w"] == width
    assert by_name(bs, "app.handle")["y"] > by_name(bs, "app.main")["y"]  # root on top
    assert by_name(bs, "search.scan")["w"] == pytest.approx(width * 60 / 120, abs=0.5)
    assert by_name(bs, "views.render")["w"] == pytest.approx(width * 30 / 120, abs=0.5)
    assert page.title() == f"profkit: {servers['labelled'].url('/') and page.inner_text('#title')}"


def test_hover_shows_details(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    box = by_name(boxes(page), "search.scan")
    pos = page.locator("#flame").bounding_box()
    page.mouse.move(pos["x"] + box["x"] + 20, pos["y"] + box["y"] + 8)
    tip = page.locator("#tooltip")
    tip.wait_for(state="visible")
    text = tip.inner_text()
    assert "search.scan" in text and "/srv/search.py:1" in text
    assert "self 60ms (50.00%)" in text  # pprof's percentage format
    assert "total 60ms (50.00% of all, 50.00% of zoomed frame)" in text


def test_zoom_then_back(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    before = boxes(page)
    width = by_name(before, "root")["w"]
    act(page, lambda: click_box(page, by_name(before, "views.render")))
    assert "z=" in page.url
    zoomed = boxes(page)
    assert by_name(zoomed, "views.render")["w"] == width  # the clicked frame fills the width
    assert "search.scan" not in [b["name"] for b in zoomed]
    act(page, page.go_back)
    assert "z=" not in page.url
    assert boxes(page) == before
    act(page, page.go_forward)
    assert by_name(boxes(page), "views.render")["w"] == width


def test_search_highlights_and_shows_share(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    act(page, lambda: page.fill("#search", "scan|query"))
    page.wait_for_function("document.getElementById('status').textContent.includes('matched')")
    assert page.inner_text("#status") == "matched: 90ms (75.00% of total)"
    bs = boxes(page)
    scan, render = by_name(bs, "search.scan"), by_name(bs, "views.render")
    assert pixel(page, "flame", scan["x"] + 2, scan["y"] + 2) == [230, 60, 230]
    assert pixel(page, "flame", render["x"] + 2, render["y"] + 2) != [230, 60, 230]
    assert "search=scan" in page.url


_BOX_PIXELS = """() => { const f = PF.flame('flame'), c = f.canvas, r = window.devicePixelRatio || 1;
  const ctx = c.getContext('2d');
  return f.boxes().map(b => [b.name, Array.from(ctx.getImageData(Math.round((b.x + b.w / 2) * r),
    Math.round((b.y + 1) * r), 1, 1).data).slice(0, 3)]); }"""


def test_search_and_hover_repaint_only_what_changed(page: Any, servers: Dict[str, Any]) -> None:
    """A search or hover repaints the boxes whose look changed: the canvas ends as a full paint."""
    open_view(page, servers["labelled"])
    painted = dict(page.evaluate(_BOX_PIXELS))
    magenta = [230, 60, 230]
    for pattern, hits in [("scan|query", {"search.scan", "db.query"}), ("render", {"views.render"}),
                          ("scan|query", {"search.scan", "db.query"})]:  # the last from the cache
        act(page, lambda p=pattern: page.fill("#search", p))
        page.wait_for_function("p => document.getElementById('status').textContent.includes('matched')"
                               " && location.search.includes(p)", arg=f"search={pattern.split('|')[0]}")
        now = dict(page.evaluate(_BOX_PIXELS))
        assert {n for n, rgb in now.items() if rgb == magenta} == hits, pattern
        assert all(now[n] == painted[n] for n in now if n not in hits), pattern
    box = by_name(boxes(page), "views.render")
    pos = page.locator("#flame").bounding_box()
    page.mouse.move(pos["x"] + box["x"] + 20, pos["y"] + box["y"] + 8)
    page.locator("#tooltip").wait_for(state="visible")
    page.mouse.move(pos["x"] + 5, pos["y"] + pos["height"] + 40)  # leave the canvas
    page.locator("#tooltip").wait_for(state="hidden")
    act(page, lambda: page.fill("#search", ""))
    assert dict(page.evaluate(_BOX_PIXELS)) == painted
    page.evaluate("() => { const f = PF.flame('flame'); f._key = null; f.draw(); }")  # a full paint
    assert dict(page.evaluate(_BOX_PIXELS)) == painted


def test_inverted_view_puts_leaves_first(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    act(page, lambda: page.click("#tabs button[data-view=inverted]"))
    bs = boxes(page, "inverted")
    first_row = {b["name"]: b["w"] for b in bs if b["y"] == 18}
    width = by_name(bs, "root")["w"]
    assert set(first_row) == {"search.scan", "views.render", "db.query"}
    assert first_row["views.render"] == pytest.approx(width * 30 / 120, abs=0.5)
    assert {b["name"] for b in bs if b["y"] == 54} == {"app.main"}
    act(page, page.go_back)
    assert page.locator("#view-flame").is_visible()


def test_sample_type_switch(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"], "?view=top")
    assert page.locator("#top tbody tr").first.inner_text().startswith("60ms")
    act(page, lambda: page.select_option("#sample", "samples"))
    assert "si=samples" in page.url
    first = page.locator("#top tbody tr").first.inner_text().split("\t")
    assert first[0] == "6" and first[-1].startswith("search.scan")


def test_top_table_equals_profkit_top(page: Any, servers: Dict[str, Any],
                                      profiles: Dict[str, Path]) -> None:
    open_view(page, servers["labelled"], "?view=top&g=lines")
    rows = [r.split("\t") for r in page.locator("#top tbody tr").all_inner_texts()]
    table = top_from_report(build(ReportRequest(
        [str(profiles["labelled"])], options=ViewOptions(granularity="lines", nodefraction=0))))
    want = [[label(r.flat, "nanoseconds"), label(r.cum, "nanoseconds"), r.name] for r in table.rows]
    got = [[r[0], r[3], r[5].replace("callers/callees", "").strip()] for r in rows]
    assert sorted(got) == sorted(want)
    act(page, lambda: page.click("#top th[data-sort=cum]"))
    assert "sort=cum" in page.url
    cums = [r.split("\t")[3] for r in page.locator("#top tbody tr").all_inner_texts()]
    assert cums[0] == "120ms"


def test_label_filter_with_counts(page: Any, servers: Dict[str, Any]) -> None:
    asked = []
    page.on("request", lambda r: asked.append(r.url) if "/api/labels" in r.url else None)
    open_view(page, servers["labelled"])
    assert page.locator("#label option").all_inner_texts() == [
        "all samples", "(open to load the labels…)"] and not asked  # not loaded up front
    options = open_labels(page)
    assert len(asked) == 1
    assert "route = /search (2 samples, 80ms)" in options
    assert "thread = worker-2 (2 samples, 40ms)" in options
    act(page, lambda: page.select_option("#label", label="route = /books (2 samples, 40ms)"))
    assert "tf=route%3D%5E%2Fbooks%24" in page.url  # route=^/books$
    names = {b["name"] for b in boxes(page)}
    assert "search.scan" not in names and {"db.query", "views.render"} <= names
    width = by_name(boxes(page), "root")["w"]
    assert by_name(boxes(page), "db.query")["w"] == pytest.approx(width * 30 / 40, abs=0.5)
    assert "tf=route=^/books$" in page.inner_text("#filters")
    assert page.input_value("#label") == "route=^/books$" and len(asked) == 1  # kept, not re-asked


def test_numeric_label_filter(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["numeric"])
    options = open_labels(page)
    assert [o.split(" (")[0] for o in options[1:]] == [
        "bytes = 1024 bytes", "bytes = 4096 bytes", "tries = 1 tries", "tries = 2 tries"]
    assert options[1].startswith("bytes = 1024 bytes (2 samples, ")
    act(page, lambda: page.select_option("#label", value="bytes=4096bytes"))
    assert "tf=bytes%3D4096bytes" in page.url
    names = {b["name"] for b in boxes(page)}
    assert "alloc.big" in names and "alloc.small" not in names
    assert page.input_value("#label") == "bytes=4096bytes"


def test_right_click_focus_is_the_cli_filter(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"])
    click_box(page, by_name(boxes(page), "db.query"), button="right")
    menu = page.locator("#menu div")
    assert "Focus on db.query" in menu.all_inner_texts()
    act(page, lambda: page.click("#menu div >> text=Focus on db.query"))
    assert re.search(r"[?&]f=%5Edb%5C.query%24", page.url)
    names = {b["name"] for b in boxes(page)}
    assert names == {"root", "app.main", "app.handle", "db.query"}
    act(page, lambda: page.click("#filters .chip button"))
    assert "f=" not in page.url and "search.scan" in {b["name"] for b in boxes(page)}


def test_callers_and_callees(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["labelled"], "?view=top")
    row = page.locator("#top tbody tr", has_text="app.handle")
    act(page, lambda: row.locator("a.peek").click())
    assert "view=pivot" in page.url
    callees = {b["name"] for b in boxes(page, "callees")}
    callers = {b["name"] for b in boxes(page, "callers")}
    assert callees == {"all callees", "app.handle", "search.scan", "views.render", "db.query"}
    assert callers == {"all callers", "app.handle", "app.main"}


def test_diff_colours_new_and_vanished(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["diff"])
    bs = boxes(page)
    fresh, gone = by_name(bs, "newpath.fresh"), by_name(bs, "oldpath.gone")
    grow, shrink = by_name(bs, "calc.grow"), by_name(bs, "calc.shrink")
    assert (fresh["kind"], fresh["label"]) == ("new", "[new] newpath.fresh")
    assert (gone["kind"], gone["label"]) == ("vanished", "[vanished] oldpath.gone")
    assert gone["w"] > 0 and fresh["w"] > 0  # never dropped
    assert pixel(page, "flame", fresh["x"] + 1, fresh["y"] + 1) == [200, 0, 0]
    assert pixel(page, "flame", gone["x"] + 1, gone["y"] + 1) == [30, 70, 200]
    r, g, b = pixel(page, "flame", grow["x"] + 1, grow["y"] + 1)
    assert r == 255 and g < 200 and b < 200  # red: growth
    r, g, b = pixel(page, "flame", shrink["x"] + 1, shrink["y"] + 1)
    assert b == 255 and r < 200 and g < 200  # blue: shrink
    pos = page.locator("#flame").bounding_box()
    page.mouse.move(pos["x"] + gone["x"] + 10, pos["y"] + gone["y"] + 8)
    text = page.locator("#tooltip").inner_text()
    assert "vanished: base 20ms → new 0 (-20ms, -28.57%)" in text  # % of the base total 70ms
    assert "vanished" in page.inner_text("#legend")


def test_bad_filter_shows_the_message(page: Any, servers: Dict[str, Any]) -> None:
    page.goto(servers["labelled"].url("/?f=("))
    page.locator("#error").wait_for(state="visible")
    assert "parsing focus regexp" in page.inner_text("#error")
    page.errors.clear()  # the failed fetch is logged by the console only


def test_hostile_names_execute_nothing(page: Any, servers: Dict[str, Any]) -> None:
    open_view(page, servers["xss"], "?view=top")
    text = page.inner_text("#top")
    assert "app.</script><script>window.__pwned=1</script>" in text
    assert "app.<img src=x onerror=window.__pwned=2>" in text and "app.<b>bold</b>&amp;" in text
    options = open_labels(page)
    assert any("<svg onload=window.__pwned=4>" in o for o in options)
    act(page, lambda: page.click("#tabs button[data-view=flame]"))
    box = by_name(boxes(page), "app.<img src=x onerror=window.__pwned=2>")
    pos = page.locator("#flame").bounding_box()
    page.mouse.move(pos["x"] + box["x"] + 5, pos["y"] + box["y"] + 8)
    tip = page.locator("#tooltip").inner_text()
    assert "onerror" in tip and "/srv/x.py" in tip
    click_box(page, box, button="right")
    assert page.locator("#menu img, #top img, #tooltip img, svg").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert draws(page) >= 2


@pytest.mark.parametrize("first", ["payload", "meta"])
def test_title_whichever_answer_comes_first(page: Any, serve: Any, profiles: Dict[str, Path],
                                            first: str) -> None:
    """The page asks /api/meta (its title) and /api/flame at once; either may answer first."""
    srv = serve(create_app(ViewerConfig([str(profiles["labelled"])], title="bench t::x")))
    held: List[Any] = []
    late = "**/api/meta" if first == "payload" else "**/api/flame"
    page.route(late, lambda route: held.append(route))  # held until released below
    page.goto(srv.url("/"))
    if first == "payload":  # the payload's header is shown, without the title for now
        page.wait_for_function("() => document.getElementById('title').textContent !== 'profkit'")
    else:  # the meta answer is in, the payload not yet
        page.wait_for_function("() => PF.page.meta.title === 'bench t::x'")
    assert len(held) == 1
    held[0].continue_()
    wait_drawn(page)
    assert page.inner_text("#title") == "bench t::x" and page.title() == "profkit: bench t::x"
