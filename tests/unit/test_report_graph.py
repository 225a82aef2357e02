"""The call-graph view (views/graph*.py) and the tree/peek/dot/svg outputs, without go.

Semantics pinned on small hand-built profiles (cum once per sample, edges once per
sample, no self edges, inline and residual marks, trimming counts), the JSON
outputs against golden files (no pprof twin: ``PROFKIT_UPDATE_GOLDEN=1 pytest
tests/unit/test_report_graph.py`` rewrites them), hostile names in text and dot,
and Graphviz's real ``dot`` for svg/png/pdf (missing Graphviz fails under CI=true).
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Tuple

import pytest
from ops_profiles import cpu_profile
from tool_helpers import require_tool

from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, save
from profkit.model.profile import Line, Location, Profile
from profkit.options import ViewOptions
from profkit.report import ReportRequest, build
from profkit.views.graph import stack_paths
from profkit.views.graph_trim import GraphLimits, trimmed_graph
from profkit.views.tree import peek_from_report, tree_from_report

GOLDEN = Path(__file__).resolve().parent.parent / "testdata" / "reports" / "graph"
UPDATE = os.environ.get("PROFKIT_UPDATE_GOLDEN", "") == "1"


def edges_of(p: Profile, **options: object) -> Dict[Tuple[str, str], Tuple[int, bool, bool]]:
    """{(caller, callee): (weight, residual, inline)} of the trimmed graph of ``p``."""
    r = build(ReportRequest([p], options=ViewOptions(**options)))  # type: ignore[arg-type]
    limits = GraphLimits(r.request.options.nodecount, r.request.options.nodefraction)
    g = trimmed_graph(stack_paths(r.table, r.sample_index, "functions"), limits).graph
    return {(g.names[e.src], g.names[e.dest]): (e.weight, e.residual, e.inline)
            for n in g.nodes for e in g.out_edges.get(n, {}).values()}


def test_recursion_counts_once_per_sample_and_makes_no_self_edge() -> None:
    p = cpu_profile({("a", "b", "a", "main"): 2, ("b", "main"): 1, ("a", "a", "main"): 1})
    t = tree_from_report(build(ReportRequest([p], options=ViewOptions(sample_index="samples"))))
    values = {e.name: (e.flat, e.cum) for e in t.entries}
    assert values == {"a": (3, 3), "b": (1, 3), "main": (0, 4)}
    assert edges_of(p, sample_index="samples") == {
        ("main", "a"): (3, False, False), ("a", "b"): (2, False, False),
        ("b", "a"): (2, False, False), ("main", "b"): (1, False, False),
    }


def inline_profile() -> Profile:
    """``outer`` calls ``helper`` inlined (one location, two lines) and also directly."""
    b = ProfileBuilder([("samples", "count")], mapping_filename="/usr/bin/python3")
    helper, outer = b.function("helper", "h.py", 1), b.function("outer", "o.py", 1)
    inlined = Location(100, b.mapping, 0, [Line(helper, 3), Line(outer, 7)])
    main_loc = b.location(FrameKey("main", "m.py", 1, 1))
    direct = b.location(FrameKey("helper", "h.py", 3, 1))
    outer_loc = b.location(FrameKey("outer", "o.py", 9, 1))
    b.add_locations([inlined, main_loc], [4])
    b.add_locations([direct, outer_loc, main_loc], [1])
    b.add_locations([FrameKey_loc(b, "leaf"), inlined, main_loc], [2])
    p = b.build()
    p.locations.append(inlined)
    return p


def FrameKey_loc(b: ProfileBuilder, name: str) -> Location:  # noqa: N802 - reads as a frame
    return b.location(FrameKey(name, name + ".py", 1, 1))


def test_inline_edge_is_marked_only_when_every_use_is_inlined() -> None:
    edges = edges_of(inline_profile())
    assert edges[("main", "outer")] == (7, False, False)
    # helper is reached from outer inlined (6 samples) and by a real call (1): not inline
    assert edges[("outer", "helper")] == (7, False, False)
    assert edges[("helper", "leaf")] == (2, False, False)
    only_inlined = cpu_profile({("x", "main"): 1})  # no inlining at all: no mark
    assert not any(v[2] for v in edges_of(only_inlined).values())


def test_inline_edge_mark_when_always_inlined() -> None:
    b = ProfileBuilder([("samples", "count")], mapping_filename="/usr/bin/python3")
    helper, outer = b.function("helper", "h.py", 1), b.function("outer", "o.py", 1)
    inlined = Location(100, b.mapping, 0, [Line(helper, 3), Line(outer, 7)])
    b.add_locations([inlined, b.location(FrameKey("main", "m.py", 1, 1))], [4])
    p = b.build()
    p.locations.append(inlined)
    assert edges_of(p)[("outer", "helper")] == (4, False, True)
    text = tree_text_of(p)
    # the edge is marked in both blocks it appears in (helper's caller, outer's callee)
    assert text.count("(inline)") == 2 and "|   helper (inline)" in text


def tree_text_of(p: Profile, *argv: str) -> str:
    from profkit.render.tree_text import render_tree

    return render_tree(build(ReportRequest([p], kind="tree")))


def test_nodecount_makes_residual_edges_with_the_skipped_weight() -> None:
    p = cpu_profile({("leaf", "mid1", "mid2", "main"): 50, ("other", "main"): 30,
                     ("leaf", "main"): 10})
    edges = edges_of(p, nodecount=3, sample_index="samples")
    # mid1/mid2 are dropped: main -> leaf carries both paths, residual because of one
    assert edges == {("main", "leaf"): (60, True, False), ("main", "other"): (30, False, False)}


def test_trimming_counts_appear_in_the_header(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    stacks = {(f"f{i}", "main"): 1 for i in range(30)}
    stacks[("hot", "main")] = 2000
    path = tmp_path / "p.pb.gz"
    save(cpu_profile(stacks), path)
    assert main(["tree", "-n", "1", "--sample-index", "samples", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Dropped 30 nodes (cum <= 10)\nShowing top 1 nodes out of 2\n" in out
    assert main(["dot", "-n", "1", "--sample-index", "samples", str(path)]) == 0
    dot = capsys.readouterr().out
    assert r"Dropped 30 nodes (cum <= 10)\lShowing top 1 nodes out of 2\l" in dot


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path} (run with PROFKIT_UPDATE_GOLDEN=1)"
    assert text == path.read_text()


GOLDEN_STACKS = {("a", "b", "main"): 5, ("b", "main"): 3, ("c", "a", "main"): 2,
                 ("a", "a", "b", "main"): 1}


@pytest.mark.parametrize("report,extra", [("tree", []), ("peek", ["^a$"]), ("dot", [])])
def test_json_outputs_match_golden(tmp_path: Path, capsys, report: str, extra: List[str]) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.pb.gz"
    save(cpu_profile(GOLDEN_STACKS, labels={"thread": "main"}), path)
    assert main([report, *extra, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    data = json.loads(out)
    assert data["total"] == 11 * 10_000_000
    if report == "peek":
        assert [e["name"] for e in data["entries"]] == ["a"]
    if report == "dot":
        nodes = {n["name"]: (n["flat"], n["cum"]) for n in data["nodes"]}
        assert nodes["a"] == (60_000_000, 80_000_000) and nodes["main"] == (0, 110_000_000)
        labels = {n["name"]: n["labels"] for n in data["nodes"]}
        assert labels["main"] == {"thread:main": {"flat": 0, "cum": 110_000_000}}
        assert {(e["src"], e["dest"]) for e in data["edges"]} and data["legend"][-1].endswith(
            "how to read the graph")
    else:
        assert data["entries"]
    golden(f"{report}.json", out)


def test_peek_is_untrimmed_and_restricted_to_matches() -> None:
    stacks = {(f"f{i}", "main"): 1 for i in range(30)}
    stacks[("hot", "main")] = 5000
    p = cpu_profile(stacks)
    r = build(ReportRequest([p], kind="peek", pattern="^f1", options=ViewOptions(nodecount=1)))
    t = peek_from_report(r)
    names = [e.name for e in t.entries]
    assert names == sorted(names) and set(names) == {f"f{i}" for i in range(30) if
                                                     str(i).startswith("1")}
    assert t.header.dropped_nodes == 0 and all(e.callers[0].name == "main" for e in t.entries)


def test_peek_errors_are_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.pb.gz"
    save(cpu_profile(GOLDEN_STACKS), path)
    assert main(["peek", "(unclosed", str(path)]) == 1  # as every bad pattern (InputError)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "(unclosed" in err
    assert main(["peek", "nothing_here", str(path)]) == 1
    assert capsys.readouterr().err == "profkit: no matches found for regexp: nothing_here\n"


HOSTILE = 'evil"name\\with\nnewline\x1b[31m'


def test_hostile_names_are_escaped_in_tree_and_dot(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.pb.gz"
    save(cpu_profile({(HOSTILE, "main"): 3}), path)
    assert main(["tree", str(path)]) == 0
    text = capsys.readouterr().out
    assert "\x1b" not in text and "\\x1b[31m" in text and "newline\n" not in text
    assert main(["dot", str(path)]) == 0
    dot = capsys.readouterr().out
    assert 'tooltip="evil\\"name\\\\with\\lnewline' in dot
    assert all(line.count('"') % 2 == 0 for line in dot.splitlines()
               if not line.startswith("subgraph")), dot


@pytest.fixture(scope="module")
def dot_exe() -> str:
    return require_tool("dot", "apt-get install graphviz")


def test_svg_is_standalone_and_draws_every_node(dot_exe: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "h.pb.gz"
    save(cpu_profile({(HOSTILE, "main"): 3, ("a", "b", "main"): 2}), path)
    assert main(["dot", str(path)]) == 0
    n_nodes = len(re.findall(r"^N\d+ \[", capsys.readouterr().out, re.M))
    assert main(["svg", str(path)]) == 0
    svg = capsys.readouterr().out
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    drawn = [g for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "node"]
    assert n_nodes == 4 and len(drawn) == n_nodes + 1  # and the legend box
    assert any("evil" in (t.text or "") for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_svg_draws_entity_looking_names_as_they_are(dot_exe: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # Graphviz decodes entities in labels: unescaped, "a&amp;b" would be drawn "a&b"
    path = tmp_path / "e.pb.gz"
    save(cpu_profile({("x&amp;y", "main"): 3, ("p&lt;q", "main"): 2}), path)
    assert main(["svg", str(path)]) == 0
    texts = [t.text or "" for t in ET.fromstring(capsys.readouterr().out).iter(
        "{http://www.w3.org/2000/svg}text")]
    assert "x&amp;y" in texts and "p&lt;q" in texts, texts


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG\r\n"), ("pdf", b"%PDF-")])
def test_binary_outputs(dot_exe: str, tmp_path: Path, fmt: str, magic: bytes) -> None:
    path, out = tmp_path / "p.pb.gz", tmp_path / f"g.{fmt}"
    save(cpu_profile(GOLDEN_STACKS), path)
    assert main([fmt, str(path), "--write", str(out)]) == 0
    assert out.read_bytes().startswith(magic)


def test_missing_graphviz_is_one_line_and_writes_nothing(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, out = tmp_path / "p.pb.gz", tmp_path / "g.svg"
    save(cpu_profile(GOLDEN_STACKS), path)
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no dot on it
    assert main(["svg", str(path), "--write", str(out)]) == 1
    assert capsys.readouterr().err == (
        "profkit: failed to execute dot: is Graphviz installed? (apt-get install graphviz)\n"
    )
    assert not out.exists()


def test_mean_and_call_tree_now_work_on_graphs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "g.pb.gz"
    save(cpu_profile(GOLDEN_STACKS), path)
    assert main(["tree", "-mean", str(path)]) == 0
    assert "Type: mean_" in capsys.readouterr().out
    assert main(["dot", "-call_tree", str(path)]) == 0
    assert capsys.readouterr().out.startswith("digraph")
    assert main(["tree", "-call_tree", str(path)]) == 0  # pprof ignores it outside dot
