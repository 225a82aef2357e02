"""Helpers of the browser tests: wait for renders, read drawn boxes and canvas pixels."""

from __future__ import annotations

from typing import Any, Callable, Dict, List


def draws(pg: Any) -> int:
    """Return how many times the page has rendered a view."""
    return int(pg.evaluate("Number(document.body.dataset.draws || 0)"))


def wait_drawn(pg: Any, after: int = 0) -> None:
    """Wait until the page has rendered more than ``after`` times (no error shown)."""
    pg.wait_for_function("n => Number(document.body.dataset.draws || 0) > n", arg=after)


def act(pg: Any, action: Callable[[], Any]) -> None:
    """Run ``action`` (a click, a key...) and wait for the render it causes."""
    before = draws(pg)
    action()
    wait_drawn(pg, before)


def open_labels(pg: Any) -> List[str]:
    """Open the label filter like a user (focus); wait for its values; return the options."""
    pg.focus("#label")
    pg.wait_for_function("document.getElementById('label').dataset.loaded === '1'")
    return pg.locator("#label option").all_inner_texts()  # type: ignore[no-any-return]


def boxes(pg: Any, canvas: str = "flame") -> List[Dict[str, Any]]:
    """Return the drawn boxes of canvas ``canvas`` (name, label, x, y, w, h, color, kind)."""
    return pg.evaluate("id => PF.flame(id).boxes()", canvas)  # type: ignore[no-any-return]


def pixel(pg: Any, canvas: str, x: float, y: float) -> List[int]:
    """Return the RGB of the canvas pixel at CSS coordinates (x, y), as drawn."""
    return pg.evaluate(  # type: ignore[no-any-return]
        """([id, x, y]) => { const c = document.getElementById(id), r = window.devicePixelRatio || 1;
        return Array.from(c.getContext('2d').getImageData(Math.round(x * r), Math.round(y * r), 1, 1)
        .data).slice(0, 3); }""", [canvas, x, y])


def click_box(pg: Any, box: Dict[str, Any], canvas: str = "flame", button: str = "left") -> None:
    """Click the middle of ``box`` on ``canvas`` like a user."""
    pos = pg.locator(f"#{canvas}").bounding_box()
    pg.mouse.click(pos["x"] + box["x"] + min(box["w"] / 2, 40), pos["y"] + box["y"] + box["h"] / 2,
                   button=button)


def by_name(bs: List[Dict[str, Any]], name: str) -> Dict[str, Any]:
    """Return the one box named ``name``."""
    found = [b for b in bs if b["name"] == name]
    assert len(found) == 1, (name, [b["name"] for b in bs])
    return found[0]
