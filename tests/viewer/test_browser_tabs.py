"""The Source and Call graph tabs (the `list` JSON and `dot` SVG reports) in Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Optional
from urllib.parse import parse_qs, urlparse

import pytest
from browser_helpers import act, boxes, click_box, wait_drawn
from tool_helpers import require_tool

from profkit.viewer import ViewerConfig, create_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(serve: Any, profiles: Dict[str, Path]) -> Any:
    return serve(create_app(ViewerConfig([str(profiles["source"])])))


def test_source_view_from_the_menu(page: Any, server: Any) -> None:
    page.goto(server.url("/"))
    wait_drawn(page)
    assert page.locator("#tabs button[data-view=source]").is_visible()
    hot = max((b for b in boxes(page) if b["name"] == "work.hot"), key=lambda b: b["w"])
    click_box(page, hot, button="right")
    act(page, lambda: page.click("#menu div >> text=Show source of work.hot"))
    assert "view=source" in page.url
    page.locator("table.source tr").first.wait_for()
    rows = {r.get_attribute("data-line"): r for r in page.locator("table.source tr").all()}
    hot = rows["4"].inner_text().split("\t")
    assert hot[:3] == ["4", "80ms", "80ms"] and "total += i * i" in hot[3]
    assert rows["3"].inner_text().split("\t")[:3] == ["3", "20ms", "20ms"]
    heat = rows["4"].locator("td.code").evaluate("el => getComputedStyle(el).backgroundColor")
    assert heat.startswith("rgba(255, 80, 0")
    assert page.inner_text("#source h3") == "work.hot flat 100ms, cum 100ms (100%)"
    assert page.locator("#source .note").count() == 0


def test_source_view_notes_a_missing_file(page: Any, serve: Any, profiles: Dict[str, Path]) -> None:
    srv = serve(create_app(ViewerConfig([str(profiles["labelled"])])))
    page.goto(srv.url("/?view=source&p=search%5C.scan"))
    page.locator("#source .note").wait_for()
    assert "/srv/search.py" in page.inner_text("#source .note")


VIEW_BOX = """() => { const b = document.querySelector('#callgraph svg').viewBox.baseVal;
  return [b.x, b.y, b.width, b.height]; }"""
USER_POINT = """([x, y]) => { const s = document.querySelector('#callgraph svg'), p = s.createSVGPoint();
  p.x = x; p.y = y; const u = p.matrixTransform(s.getScreenCTM().inverse()); return [u.x, u.y]; }"""
SHOWS = """([box, tol]) => { const s = document.querySelector('#callgraph svg');
  if (!s) return false; const b = s.viewBox.baseVal, v = [b.x, b.y, b.width, b.height];
  return v.every((x, i) => Math.abs(x - box[i]) <= tol); }"""


def view_box(page: Any) -> List[float]:
    return page.evaluate(VIEW_BOX)  # type: ignore[no-any-return]


def gv(page: Any) -> Optional[List[float]]:
    """The call graph's viewBox the URL holds (None: the whole graph)."""
    values = parse_qs(urlparse(page.url).query).get("gv")
    return [float(v) for v in values[0].split(",")] if values else None


def wait_shows(page: Any, box: List[float], tol: float = 0.01) -> None:
    page.wait_for_function(SHOWS, arg=[box, tol])


def open_graph(page: Any, url: str) -> Any:
    require_tool("dot", "apt-get install graphviz")
    page.goto(url)
    svg = page.locator("#callgraph svg")
    svg.wait_for()
    return svg


def test_call_graph_pans_zooms_and_keeps_its_view_in_the_url(page: Any, server: Any) -> None:
    fetched: List[str] = []
    page.on("request", lambda r: fetched.append(r.url) if "/api/dot.svg" in r.url else None)
    svg = open_graph(page, server.url("/?view=callgraph"))
    text = svg.text_content()
    assert "cold" in text and "0 of 10ms (10.00%)" in text  # dot's node for work.cold
    home = view_box(page)
    assert gv(page) is None and home[2] > 0 and home[3] > 0
    box = svg.bounding_box()
    x, y = box["x"] + box["width"] / 2 + 40, box["y"] + box["height"] / 2 + 20  # off centre

    # the wheel zooms in around the pointer: the graph point under it stays there
    under = page.evaluate(USER_POINT, [x, y])
    page.mouse.move(x, y)
    page.mouse.wheel(0, -300)
    page.wait_for_function("w => document.querySelector('#callgraph svg').viewBox.baseVal.width < w",
                           arg=home[2] * 0.9)
    assert page.evaluate(USER_POINT, [x, y]) == pytest.approx(under, abs=0.5)
    page.wait_for_url(re.compile(r"[?&]gv="))  # the gesture, once it pauses, is in the URL
    zoomed = view_box(page)
    assert gv(page) == pytest.approx(zoomed, abs=0.01)
    assert zoomed[2] / home[2] == pytest.approx(zoomed[3] / home[3], rel=1e-3)  # the aspect is kept

    # a drag pans by the distance moved, in graph units, at the same zoom
    scale = page.evaluate("document.querySelector('#callgraph svg').getScreenCTM().a")
    zoomed_gv = parse_qs(urlparse(page.url).query)["gv"][0]
    page.mouse.down()
    page.mouse.move(x + 100, y + 50, steps=5)
    page.mouse.up()
    page.wait_for_function("g => new URLSearchParams(location.search).get('gv') !== g",
                           arg=zoomed_gv)
    dragged = view_box(page)
    assert dragged[0] == pytest.approx(zoomed[0] - 100 / scale, abs=0.5)
    assert dragged[1] == pytest.approx(zoomed[1] - 50 / scale, abs=0.5)
    assert dragged[2:] == pytest.approx(zoomed[2:], abs=0.01)
    assert gv(page) == pytest.approx(dragged, abs=0.01)

    # reload restores the view; Back undoes the drag, then the zoom; Forward redoes them
    url = page.url
    page.reload()
    page.locator("#callgraph svg").wait_for()
    assert page.url == url and view_box(page) == pytest.approx(dragged, abs=0.01)
    page.go_back()
    wait_shows(page, zoomed)
    assert gv(page) == pytest.approx(zoomed, abs=0.01)
    page.go_back()
    wait_shows(page, home)
    assert gv(page) is None and "view=callgraph" in page.url
    page.go_forward()
    wait_shows(page, zoomed)
    page.go_forward()
    wait_shows(page, dragged)

    # reset shows the whole graph again, as a history entry of its own
    page.click("#graph-reset")
    page.wait_for_url(lambda u: "gv=" not in u)
    wait_shows(page, home)
    page.go_back()
    wait_shows(page, dragged)
    assert page.locator("#callgraph script").count() == 0
    assert len(fetched) == 2  # one SVG per page load: a view change does not fetch it again


def test_call_graph_view_is_dropped_with_its_graph(page: Any, server: Any) -> None:
    svg = open_graph(page, server.url("/?view=callgraph&gv=junk"))  # a bad gv: the whole graph
    home = view_box(page)
    assert home[2] > 0 and not page.locator("#error").is_visible()
    box = svg.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 200)  # zoom out
    page.wait_for_url(re.compile(r"[?&]gv=[-0-9]"))  # the gesture's view replaced the bad one
    assert view_box(page)[2] > home[2]
    out = gv(page)
    assert out == pytest.approx(view_box(page), abs=0.01)
    # other report options make another graph: its view starts whole
    before = svg.text_content()
    page.select_option("#granularity", "lines")
    page.wait_for_url(re.compile(r"[?&]g=lines"))
    assert gv(page) is None
    page.wait_for_function("t => document.querySelector('#callgraph svg')?.textContent !== t",
                           arg=before)
    page.go_back()  # the first graph, at the view it had
    page.wait_for_url(lambda u: "g=lines" not in u)
    assert gv(page) == out
    wait_shows(page, out or [])


def test_a_render_during_a_wheel_gesture_keeps_it(page: Any, server: Any) -> None:
    svg = open_graph(page, server.url("/?view=callgraph"))
    home = view_box(page)
    box = svg.bounding_box()
    # a wheel event, then at once a render that is no URL change (as a resize causes)
    kept = page.evaluate("""([x, y]) => { const s = document.querySelector('#callgraph svg');
      s.dispatchEvent(new WheelEvent('wheel', {deltaY: -300, clientX: x, clientY: y,
                                               bubbles: true, cancelable: true}));
      return PF.apply().then(() => { const b = s.viewBox.baseVal; return [b.x, b.y, b.width, b.height]; });
    }""", [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
    assert kept[2] < home[2] * 0.9  # still zoomed in
    page.wait_for_url(re.compile(r"[?&]gv="))  # and the gesture reaches the URL when it pauses
    assert gv(page) == pytest.approx(kept, abs=0.01)


def test_call_graph_names_stay_text(page: Any, serve: Any, profiles: Dict[str, Path]) -> None:
    require_tool("dot", "apt-get install graphviz")
    srv = serve(create_app(ViewerConfig([str(profiles["xss"])])))
    raw = page.request.get(srv.url("/api/dot.svg")).text()
    assert "&lt;/script&gt;&lt;script&gt;" in raw and "&lt;img src=x" in raw and "&amp;" in raw
    assert not re.search(r"<(script|img|b|svg onload)\b", raw[raw.index("<svg") + 4:])
    svg = open_graph(page, srv.url("/?view=callgraph"))
    text = svg.text_content()
    assert "</script><script>window" in text and "<img src=x onerror=window" in text
    assert "<b>bold</b>&" in text and "route:<svg onload=window.__pwned=4>" in text
    assert page.locator("#callgraph script, #callgraph img, #callgraph b, #callgraph svg svg, "
                        "#callgraph foreignObject").count() == 0
    assert page.evaluate("window.__pwned") is None
