"""The flame payload's numbers equal ``profkit top``'s on the same request.

Per node: self (the net values of the stacks it ends) = top's flat, total (the net
values of the stacks holding it, once per stack) = top's cum; the roots' total =
top's sum of flat; pprof's total is the same value. Checked on the corpus and on
profkit-written profiles (labels, inlined frames and recursion, a diff) under
several options.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

from profkit.options import ViewOptions
from profkit.render.registry import find, produce
from profkit.report import ReportRequest, build
from profkit.views.flame import FORMAT, labels_from_report, net_values
from profkit.views.top import top_from_report


def payload_rows(p: Dict[str, Any]) -> Dict[str, Tuple[int, int]]:
    """Return name -> (self, total) computed from a payload as the browser does."""
    names = [p["strings"][i] for i in p["nodes"]["name"]]
    flat = [0] * len(names)
    cum = [0] * len(names)
    for stack, v in zip(p["stacks"], net_values(p)):
        flat[stack[-1]] += v
        for n in set(stack):
            cum[n] += v
    return {names[n]: (flat[n], cum[n]) for n in range(len(names))}


def check_against_top(request: ReportRequest) -> Dict[str, Any]:
    """Assert the payload of ``request`` agrees with top on it; return the payload."""
    payload = json.loads(produce(request.with_changes(kind="flame", format="json")))
    assert payload["format"] == FORMAT
    opts = request.options
    top_req = request.with_changes(
        kind="top", options=ViewOptions(**{**opts.__dict__, "nodefraction": 0.0}))
    table = top_from_report(build(top_req))
    rows = payload_rows(payload)
    assert table.rows, "the request selects nothing"
    for row in table.rows:
        assert rows[row.name] == (row.flat, row.cum), row.name
    assert {r.name for r in table.rows} == {n for n, (f, c) in rows.items() if f or c}
    assert sum(net_values(payload)) == table.shown_flat
    assert payload["total"] == table.total
    return payload


CORPUS_OPTIONS = [
    {},
    {"sample_index": "samples"},
    {"focus": "runtime", "hide": "mallocgc"},
    {"ignore": "gc", "granularity": "lines"},
    {"granularity": "files"},
    {"show": "main|runtime\\.m"},
]


@pytest.mark.parametrize("opts", CORPUS_OPTIONS, ids=lambda o: ",".join(o) or "default")
def test_corpus_numbers_equal_top(corpus: Path, opts: Dict[str, str]) -> None:
    p = check_against_top(ReportRequest([str(corpus / "large.cpu")], options=ViewOptions(**opts)))
    assert p["type"] == (opts.get("sample_index") or "cpu")


def test_sample_cpu_and_sample_types(corpus: Path) -> None:
    p = check_against_top(ReportRequest([str(corpus / "sample.cpu")]))
    assert [t["type"] for t in p["sample_types"]] == ["samples", "cpu"]
    assert p["sample_index"] == 1 and p["unit"] == "nanoseconds"


def test_inlined_and_recursive_frames(profiles: Dict[str, Path]) -> None:
    p = check_against_top(ReportRequest([str(profiles["inlined"])]))
    rows = payload_rows(p)
    assert rows["lib.walk"] == (2_000_000, 12_000_000)  # recursion counted once per stack
    assert rows["lib.inlined_helper"] == (8_000_000, 8_000_000)  # the inlined callee is the leaf
    assert rows["lib.outer"] == (0, 8_000_000)
    for stack in p["stacks"]:  # root first
        assert p["strings"][p["nodes"]["name"][stack[0]]] == "app.main"


@pytest.mark.parametrize("opts", [{}, {"granularity": "lines"}, {"tagfocus": "route=/books"},
                                  {"sample_index": "samples", "focus": "render"}])
def test_labelled_profile(profiles: Dict[str, Path], opts: Dict[str, str]) -> None:
    check_against_top(ReportRequest([str(profiles["labelled"])], options=ViewOptions(**opts)))


def test_label_counts_come_from_all_samples(profiles: Dict[str, Path]) -> None:
    req = ReportRequest([str(profiles["labelled"])], options=ViewOptions(tagfocus="route=/books"))
    p = check_against_top(req)
    assert p["filters"] == {"tf": "route=/books"}
    got = labels_from_report(build(req.with_changes(kind="labels")))
    assert got["labels"]["route"] == [["/search", 2, 80_000_000], ["/books", 2, 40_000_000]]
    assert got["labels"]["thread"][0] == ["worker-1", 2, 80_000_000]
    assert (got["type"], got["unit"]) == ("cpu", "nanoseconds")


def test_numeric_labels_counted_with_units_and_filtered_as_top(profiles: Dict[str, Path]) -> None:
    req = ReportRequest([str(profiles["numeric"])], kind="labels")
    got = labels_from_report(build(req))
    assert (got["type"], got["unit"]) == ("alloc_space", "bytes")
    assert got["labels"]["bytes"] == [["1024 bytes", 2, 5 * 1024, "1024bytes"],
                                      ["4096 bytes", 1, 4096, "4096bytes"]]
    assert got["labels"]["tries"] == [["1 tries", 2, 3 * 1024 + 4096, "1tries"],
                                      ["2 tries", 1, 2 * 1024, "2tries"]]
    for tf, want in [("bytes=1024bytes", 5 * 1024), ("bytes=4096bytes", 4096), ("tries=2tries", 2048)]:
        p = check_against_top(ReportRequest([str(profiles["numeric"])], options=ViewOptions(tagfocus=tf)))
        assert sum(p["values"]) == want, tf


def test_flame_payload_loads_no_labels(profiles: Dict[str, Path]) -> None:
    """The flame graph is built from a table without labels (the 1 M-sample start-up)."""
    req = ReportRequest([str(profiles["labelled"])], kind="flame", format="json")
    assert not req.needs_labels() and not build(req).unfiltered.labels
    assert "labels" not in json.loads(produce(req))
    assert req.with_changes(kind="labels").needs_labels()
    assert req.with_changes(options=ViewOptions(tagfocus="route=/books")).needs_labels()


def test_merged_files(profiles: Dict[str, Path]) -> None:
    p = check_against_top(ReportRequest([str(profiles["labelled"]), str(profiles["labelled"])]))
    assert sum(p["values"]) == 240_000_000


def test_diff_keeps_both_sides(profiles: Dict[str, Path]) -> None:
    req = ReportRequest([str(profiles["new"])], diff_base=[str(profiles["base"])])
    p = check_against_top(req)
    assert p["diff"] is True and p["total"] == 70_000_000  # pprof: the base's total
    names = [p["strings"][i] for i in p["nodes"]["name"]]
    sides = {names[s[-1]]: (v, b) for s, v, b in zip(p["stacks"], p["values"], p["base"])}
    assert sides == {"calc.grow": (50_000_000, 10_000_000), "calc.shrink": (10_000_000, 40_000_000),
                     "newpath.fresh": (30_000_000, 0), "oldpath.gone": (0, 20_000_000)}


def test_subtract_is_not_a_diff(profiles: Dict[str, Path]) -> None:
    req = ReportRequest([str(profiles["new"])], subtract=[str(profiles["base"])])
    p = check_against_top(req)
    assert p["diff"] is False and "base" not in p


def test_registered_renderer() -> None:
    r = find("flame", "json")
    assert r.media_type == "application/json" and not r.binary
