"""``profkit tree`` / ``peek`` / ``dot`` against the real ``go tool pprof`` (Go 1.19).

Inputs: the corpus (Go-written CPU profiles, one with inlined frames and 23k
functions), and profiles profkit writes here: labels (dot's nodelets), inlined
locations, recursion, a diff (``-diff_base``) and a subtraction (``-base``).
Options: nodecount, cum, granularity, focus, hide, sample index, tag focus, unit,
divide_by, trim=false, node and edge fractions, drop_negative, tagroot, prune_from,
relative_percentages, noinlines (those applied by the report layer, checked here too).

What is compared: the numbers, parsed from both outputs (tree/peek: every node's
flat, flat%, sum%, cum, cum% and every caller/callee weight and share; dot: the
node set, each node's label (flat and cum with percentages), font size and colours,
and every edge's label, weight, width and style) and, where pprof is deterministic,
the whole output byte for byte. pprof is not deterministic on diffs: edges whose
|weight| ties with opposite signs come out in map order, and which of them
``RemoveRedundantEdges`` drops follows that order, so for diffs tree blocks are
compared as sets of lines and dot's residual edges are left out of the comparison.
go runs once per (report, options, files); results are shared by the module.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest

from profkit.cli import main
from profkit.model import FrameKey, Profile, ProfileBuilder, save
from profkit.model.profile import Line, Location

pytestmark = pytest.mark.go


def graph_profile(seed: int, *, labels: bool = True, n_samples: int = 600) -> Profile:
    """A profkit-written CPU profile: 40 functions, 6 inlined locations, recursion, labels."""
    rnd = random.Random(seed)
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000, default_sample_type="cpu", mapping_filename="/usr/bin/python3.11",
    )
    funcs = [f"app.mod{i % 5}.Worker.step{i}" if i % 7 == 0 else f"app.mod{i % 5}.func{i}"
             for i in range(40)]
    locs = [b.location(FrameKey(f, f"/srv/app/mod{i % 5}.py", 10 + i, 1))
            for i, f in enumerate(funcs)]
    for j in range(6):  # an inlined helper inside one of the first functions
        inner = b.function(f"app.inl.helper{j}", "/srv/app/inl.py", 3)
        outer = b.function(funcs[j * 3], f"/srv/app/mod{(j * 3) % 5}.py", 1)
        locs.append(Location(1000 + j, b.mapping, 0, [Line(inner, 5), Line(outer, 40 + j)]))
    root = b.location(FrameKey("app.main", "/srv/app/main.py", 3, 1))
    extra = locs[40:]
    for _ in range(n_samples):
        stack = [rnd.choice(locs[:8]) if rnd.random() < 0.5 else rnd.choice(locs)
                 for _ in range(rnd.randint(1, 9))]
        if rnd.random() < 0.2:
            stack.insert(rnd.randrange(len(stack)), stack[0])  # recursion
        stack.append(root)
        n = rnd.randint(1, 5)
        lab = ({"thread": rnd.choice(["main", "worker-1", "worker-2"])}
               if labels and rnd.random() < 0.7 else None)
        b.add_locations(stack, [n, n * 10_000_000], labels=lab)
    p = b.build(duration_nanos=3_000_000_000, time_nanos=1_700_000_000_000_000_000)
    p.locations.extend(loc for loc in extra if loc not in p.locations)
    return p


def heap_profile(seed: int, *, labels: bool) -> Profile:
    """A heap-like profile: sampled sizes as the ``bytes`` numeric label (dot's nodelets)."""
    rnd = random.Random(seed)
    b = ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes")],
                       default_sample_type="alloc_space", mapping_filename="/usr/bin/python3.11")
    locs = [b.location(FrameKey(f"app.m{i % 4}.f{i}", f"/srv/m{i % 4}.py", 5 + i, 1))
            for i in range(25)]
    root = b.location(FrameKey("app.main", "/srv/main.py", 1, 1))
    for _ in range(400):
        stack = [rnd.choice(locs) for _ in range(rnd.randint(1, 6))] + [root]
        size = rnd.choice([16, 32, 48, 64, 96, 128, 256, 1024, 4096, 65536])
        n = rnd.randint(1, 4)
        lab = {"thread": rnd.choice(["main", "w1"])} if labels and rnd.random() < 0.6 else None
        b.add_locations(stack, [n, n * size], labels=lab, num_labels={"bytes": size})
    return b.build(time_nanos=1_700_000_000_000_000_000)


@pytest.fixture(scope="module")
def files(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """Names -> paths: the corpus profiles and the profkit-written ones."""
    d = tmp_path_factory.mktemp("graph-profiles")
    out = {"sample": str(corpus / "sample.cpu"), "large": str(corpus / "large.cpu")}
    for name, seed, labels in (("labels", 1, True), ("other", 2, True), ("plain", 3, False)):
        path = d / f"{name}.pb.gz"
        save(graph_profile(seed, labels=labels), path)
        out[name] = str(path)
    for name, seed, labels in (("heap", 5, False), ("heaplabels", 6, True)):
        path = d / f"{name}.pb.gz"
        save(heap_profile(seed, labels=labels), path)
        out[name] = str(path)
    return out


_GO_RUNS: Dict[Tuple[str, ...], str] = {}


@pytest.fixture(scope="module")
def go_report(go_pprof, files: Dict[str, str]) -> Callable[..., str]:  # type: ignore[no-untyped-def]
    """Run ``go tool pprof -<report> ARGS FILES`` once per distinct call; return stdout."""

    def run(report: str, args: List[str], names: List[str]) -> str:
        key = (report, *args, "--", *names)
        if key not in _GO_RUNS:
            argv = [a.format(**files) for a in args]
            _GO_RUNS[key] = go_pprof(f"-{report}", *argv, *(files[n] for n in names)).stdout
        return _GO_RUNS[key]

    return run


def profkit_out(capsys: pytest.CaptureFixture[str], files: Dict[str, str], report: str,
                args: List[str], names: List[str]) -> str:
    argv = [report, *(a.format(**files) for a in args), *(files[n] for n in names)]
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


# -- tree / peek -------------------------------------------------------------

_NODE = re.compile(r"^\s*(\S+) +(\S+%) +(\S+%) +(\S+) +(\S+%) +\| (.+)$")
_EDGE = re.compile(r"^\s+(\S+) +(\S+%) \|   (.+)$")
SEP = "----------------------------------------------------------+-------------"

Block = Tuple[Tuple[str, ...], List[Tuple[str, ...]], List[Tuple[str, ...]]]


def tree_numbers(text: str) -> Tuple[List[str], Dict[str, Block]]:
    """Return (header lines, {node name: (its numbers, callers, callees)})."""
    parts = text.split(SEP + "\n")
    header = parts[0].splitlines()
    blocks: Dict[str, Block] = {}
    for part in parts[2:]:
        callers: List[Tuple[str, ...]] = []
        callees: List[Tuple[str, ...]] = []
        node: Optional[Tuple[str, ...]] = None
        for line in part.splitlines():
            m = _NODE.match(line)
            if m:
                node = m.groups()
                continue
            e = _EDGE.match(line)
            assert e, f"unexpected tree line {line!r}"
            (callees if node else callers).append(e.groups())
        if node is not None:
            blocks[node[-1]] = (node[:-1], callers, callees)
    return header, blocks


def sorted_blocks(blocks: Dict[str, Block]) -> Dict[str, Block]:
    return {k: (v[0], sorted(v[1]), sorted(v[2])) for k, v in blocks.items()}


TREE_CASES: List[Tuple[str, List[str], List[str], List[str]]] = [
    ("heap", ["-nodecount=12"], ["-n", "12"], ["heaplabels"]),
    # (files, go args, profkit args, file names)
    ("sample default", [], [], ["sample"]),
    ("sample all nodes cum", ["-nodecount=0", "-cum"], ["-n", "0", "--cum"], ["sample"]),
    ("sample lines", ["-lines", "-nodecount=12"], ["-g", "lines", "-n", "12"], ["sample"]),
    ("large default", [], [], ["large"]),
    ("large files cum", ["-files", "-cum"], ["-g", "files", "--cum"], ["large"]),
    ("large focus hide", ["-focus=main", "-hide=runtime", "-nodecount=25"],
     ["--focus", "main", "--hide", "runtime", "-n", "25"], ["large"]),
    ("large samples", ["-sample_index=samples", "-nodecount=40"],
     ["--sample-index", "samples", "-n", "40"], ["large"]),
    ("labels default", [], [], ["labels"]),
    ("labels nodecount 8", ["-nodecount=8"], ["-n", "8"], ["labels"]),
    ("labels filefunctions", ["-filefunctions"], ["-g", "filefunctions"], ["labels"]),
    ("labels tagfocus", ["-tagfocus=thread=worker-1"], ["--tagfocus", "thread=worker-1"],
     ["labels"]),
    ("merged", ["-nodecount=15"], ["-n", "15"], ["labels", "other"]),
    ("diff", ["-diff_base={labels}"], ["--diff-base", "{labels}"], ["other"]),
    ("diff nodecount", ["-diff_base={labels}", "-nodecount=10"],
     ["--diff-base", "{labels}", "-n", "10"], ["other"]),
    ("subtract", ["-base={plain}", "-cum"], ["--base", "{plain}", "--cum"], ["other"]),
    ("subtract drop_negative", ["-drop_negative", "-base={labels}"],
     ["-drop_negative", "-base={labels}"], ["plain"]),
    ("sample unit ms", ["-unit=ms"], ["-unit=ms"], ["sample"]),
    ("sample divide_by", ["-divide_by=10"], ["-divide_by=10"], ["sample"]),
    ("labels untrimmed", ["-trim=false"], ["-trim=false"], ["labels"]),
    ("labels fractions", ["-edgefraction=0.02", "-nodefraction=0.05"],
     ["-edgefraction=0.02", "-nodefraction=0.05"], ["labels"]),
    ("labels tagroot", ["-tagroot=thread"], ["-tagroot=thread"], ["labels"]),
    ("labels prune_from", ["-prune_from=func2"], ["-prune_from=func2"], ["labels"]),
    ("labels relative focus", ["-relative_percentages", "-focus=func1"],
     ["-relative_percentages", "-focus=func1"], ["labels"]),
    ("sample noinlines", ["-noinlines"], ["-noinlines"], ["sample"]),
    ("sample addresses", ["-addresses", "-nodecount=15"], ["-addresses", "-n", "15"],
     ["sample"]),
    ("large addresses focus", ["-addresses", "-focus=main"], ["-addresses", "--focus", "main"],
     ["large"]),
    ("subtract addresses", ["-addresses", "-base={plain}"], ["-addresses", "--base", "{plain}"],
     ["other"]),
]


@pytest.mark.parametrize("case,go_args,pk_args,names", TREE_CASES, ids=[c[0] for c in TREE_CASES])
def test_tree_matches_go(  # type: ignore[no-untyped-def]
    go_report, files, capsys, case: str, go_args: List[str], pk_args: List[str],
    names: List[str],
) -> None:
    expected = go_report("tree", go_args, names)
    got = profkit_out(capsys, files, "tree", pk_args, names)
    exp_header, exp_blocks = tree_numbers(expected)
    got_header, got_blocks = tree_numbers(got)
    assert got_header == exp_header
    assert exp_blocks and list(got_blocks) == list(exp_blocks)
    assert sorted_blocks(got_blocks) == sorted_blocks(exp_blocks)
    if "diff" not in case and "subtract" not in case:
        assert got == expected


PEEK_CASES: List[Tuple[str, List[str], List[str]]] = [
    ("mapiter", [], ["sample"]),
    ("mapassign", ["-addresses"], ["sample"]),
    ("runtime\\.(add|mapassign)", ["-cum"], ["sample"]),
    ("^main\\.", [], ["large"]),
    ("time\\.", ["-focus=runtime"], ["large"]),
    ("helper|Worker", [], ["labels"]),
    ("func1", ["-diff_base={labels}"], ["other"]),
]


@pytest.mark.parametrize("pattern,go_args,names", PEEK_CASES, ids=[c[0] for c in PEEK_CASES])
def test_peek_matches_go(  # type: ignore[no-untyped-def]
    go_report, files, capsys, pattern: str, go_args: List[str], names: List[str]
) -> None:
    expected = go_report("peek", [pattern, *go_args], names)
    pk_args = [a.replace("-focus=", "--focus=").replace("-diff_base=", "--diff-base=")
               .replace("-cum", "--cum") for a in go_args]
    got = profkit_out(capsys, files, "peek", [pattern, *pk_args], names)
    exp_header, exp_blocks = tree_numbers(expected)
    got_header, got_blocks = tree_numbers(got)
    assert got_header == exp_header
    assert exp_blocks and sorted_blocks(got_blocks) == sorted_blocks(exp_blocks)
    if not any("diff" in a for a in go_args):
        assert got == expected


def test_peek_without_match_fails_like_go(go_pprof, files, capsys) -> None:  # type: ignore[no-untyped-def]
    go = go_pprof("-peek", "no_such_function", files["sample"], check=False)
    assert go.returncode != 0 and go.stdout == ""
    assert main(["peek", "no_such_function", files["sample"]]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "profkit: no matches found for regexp: no_such_function\n"


# -- dot -----------------------------------------------------------------------

_DOT_NODE = re.compile(r'^N(\d+) \[label="(.*)" id="node\d+" (fontsize=\d+) shape=box '
                       r'tooltip="(.*) \((\S+)\)" (color="#\w+" fillcolor="#\w+")\]$')
_DOT_EDGE = re.compile(r'^N(\d+) -> N(\d+) \[(label=".*?")(.*?) tooltip="(.*?) (->|\.\.\.) '
                       r'(.*?) \(\S+\)" labeltooltip=.*\]$')


_NODELET = re.compile(r'^NN?(\d+)_((?:\d+_)?\d+) \[label = "(.*)" id="NN?\d+_[\d_]+" '
                      r'fontsize=8 shape=box3d tooltip="(.*)"\]$')


def dot_numbers(text: str) -> Tuple[str, Dict[str, Tuple[str, ...]],
                                    Dict[Tuple[str, str], Tuple[str, ...]],
                                    Dict[str, List[Tuple[str, ...]]]]:
    """Return (legend line, {node: label and style}, {(src, dst): label and style},
    {node: its nodelets (index, label, weight)})."""
    legend = ""
    nodes: Dict[str, Tuple[str, ...]] = {}
    names: Dict[str, str] = {}
    edges: Dict[Tuple[str, str], Tuple[str, ...]] = {}
    nodelets: Dict[str, List[Tuple[str, ...]]] = {}
    for line in text.splitlines():
        if line.startswith("subgraph cluster_L"):
            legend = line
        m = _DOT_NODE.match(line)
        if m:
            nid, label, size, name, cum, colors = m.groups()
            names[nid] = name
            nodes[name] = (label, size, cum, colors)
            continue
        t = _NODELET.match(line)
        if t:
            nodelets.setdefault(names[t.group(1)], []).append(t.groups()[1:])
            continue
        if re.match(r"^(N\d+(?:_\d+)?) -> N?\1_\d+ ", line):
            assert 'weight=100' in line
            continue
        e = _DOT_EDGE.match(line)
        if e:
            src, dst, label, attrs, tsrc, arrow, tdst = e.groups()
            assert (names[src], names[dst]) == (tsrc, tdst)
            edges[(tsrc, tdst)] = (label, attrs.strip(), arrow)
    return legend, nodes, edges, nodelets


DOT_CASES = [c for c in TREE_CASES if c[0] not in ("sample all nodes cum",)] + [
    ("large nodecount 20", ["-nodecount=20"], ["-n", "20"], ["large"]),
    ("labels nodecount 5", ["-nodecount=5"], ["-n", "5"], ["labels"]),
    ("other cum", ["-cum", "-nodecount=12"], ["--cum", "-n", "12"], ["other"]),
    ("heap sizes", [], [], ["heap"]),
    ("heap sizes nodecount 6", ["-nodecount=6"], ["-n", "6"], ["heap"]),
    ("heap sizes and labels", [], [], ["heaplabels"]),
    ("heap objects", ["-sample_index=alloc_objects", "-nodecount=10"],
     ["--sample-index", "alloc_objects", "-n", "10"], ["heaplabels"]),
    # sizes named in the output unit: in MB the small ones are all "0", one nodelet
    ("heap sizes in mb", ["-unit=mb"], ["-unit=mb"], ["heaplabels"]),
]


@pytest.mark.parametrize("case,go_args,pk_args,names", DOT_CASES, ids=[c[0] for c in DOT_CASES])
def test_dot_matches_go(  # type: ignore[no-untyped-def]
    go_report, files, capsys, case: str, go_args: List[str], pk_args: List[str],
    names: List[str],
) -> None:
    expected = go_report("dot", go_args, names)
    got = profkit_out(capsys, files, "dot", pk_args, names)
    exp_legend, exp_nodes, exp_edges, exp_nodelets = dot_numbers(expected)
    got_legend, got_nodes, got_edges, got_nodelets = dot_numbers(got)
    assert exp_nodes and exp_edges
    labelled = ("labels", "other", "heap", "heaplabels")
    assert bool(exp_nodelets) == (any(n in labelled for n in names)
                                  or any("{labels}" in a for a in go_args))
    assert got_legend == exp_legend
    assert got_nodes == exp_nodes
    if "diff" in case or "subtract" in case:
        # pprof orders nodelets whose |weight| ties with opposite signs in map order
        assert ({k: sorted(t[1:] for t in v) for k, v in got_nodelets.items()}
                == {k: sorted(t[1:] for t in v) for k, v in exp_nodelets.items()})
        def solid(edges: Dict[Tuple[str, str], Tuple[str, ...]]) -> Dict[Tuple[str, str], Tuple[str, ...]]:
            return {k: v for k, v in edges.items() if v[2] == "->"}

        assert solid(got_edges) == solid(exp_edges)
    else:
        assert got_nodelets == exp_nodelets
        assert got_edges == exp_edges
        assert got == expected
