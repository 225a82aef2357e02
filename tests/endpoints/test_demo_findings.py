"""examples/findings.py: the demo's findings come from the profiles, and a contradiction is reported."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest

from profkit.model import Profile
from profkit.model.builder import FrameKey, ProfileBuilder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ROUTES = {"search": "/search", "recommend": "/recommend/<user>", "swap": "/swap"}
VIEW = "bookswap.app.create_app.<locals>."


@pytest.fixture
def findings() -> Iterator[object]:
    sys.path.insert(0, str(EXAMPLES))
    try:
        import findings

        yield findings
    finally:
        sys.path.remove(str(EXAMPLES))


def profile(sample_type: str, stacks: List[Tuple[List[str], int, Optional[Dict[str, str]]]]) -> Profile:
    b = ProfileBuilder([(sample_type, "nanoseconds")])
    for names, value, labels in stacks:
        b.add([FrameKey(n) for n in names], [value], labels)
    return b.build()


SERVER = ["gunicorn.workers.gthread.ThreadWorker.handle"]


def test_cpu_finding_is_computed_from_labels(findings) -> None:  # type: ignore[no-untyped-def]
    prof = profile("cpu", [
        (["bookswap.app.edit_distance", "bookswap.app.Library.search.<locals>.<genexpr>",
          "bookswap.app.Library.search", VIEW + "search", *SERVER], 70, {"route": "/search"}),
        (["bookswap.app.Library.recommend.<locals>.<listcomp>", "bookswap.app.Library.recommend",
          VIEW + "recommend", *SERVER], 20, {"route": "/recommend/<user>"}),
        (["select.select", *SERVER], 10, None),
    ])
    found = findings.find(prof, "cpu", ROUTES)
    assert (found.function, found.route, found.share) == ("bookswap.app.edit_distance", "/search", 0.7)
    assert (found.runner_up, found.runner_up_share) == ("bookswap.app.Library.recommend", 0.2)
    assert findings.check(found, findings.CLAIMS["cpu"]) is None
    assert "pure-Python edit distance" in found.describe()


def test_a_profile_that_shows_something_else_is_reported(findings) -> None:  # type: ignore[no-untyped-def]
    # comprehension frames count for their function; no labels: the route comes from the view
    prof = profile("alloc_space", [
        (["bookswap.app.Library.recommend.<locals>.<listcomp>", "bookswap.app.Library.recommend",
          VIEW + "recommend", *SERVER], 30, None),
        (["bookswap.app.edit_distance", "bookswap.app.Library.search", VIEW + "search", *SERVER], 60, None),
    ])
    found = findings.find(prof, "alloc_space", ROUTES)
    assert (found.function, found.route) == ("bookswap.app.edit_distance", "/search")
    problem = findings.check(found, findings.CLAIMS["alloc_space"])
    assert problem == ("the alloc_space profile does not show what the demo claims: expected "
                       "bookswap.app.Library.recommend on /recommend/<user>, found "
                       "bookswap.app.edit_distance on /search")
    empty = findings.find(profile("delay", [(SERVER, 5, None)]), "delay", ROUTES)
    assert findings.check(empty, findings.CLAIMS["delay"]) is not None


def test_view_routes_read_the_flask_app(findings) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(EXAMPLES))
    try:
        routes = findings.view_routes()
    finally:
        sys.path.remove(str(EXAMPLES))
    assert {k: routes[k] for k in ROUTES} == ROUTES
