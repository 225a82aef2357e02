"""``-call_tree`` (dot) and ``-mean`` (tree, peek, dot) against the real ``go tool pprof``.

pprof's call tree numbers its nodes in entropy order, and orders ties (two
contexts of one function with the same score) in Go map order, so its output
varies from run to run for most profiles; the comparison is then of the graph
itself: every node line (label, size, colours) and every edge and nodelet line
with node ids replaced by their node's line, as multisets. Where pprof's output
is the same run after run (seen over ten runs each), it is compared byte for byte.

``-mean`` is checked on a contention-like profile whose delay per contention
varies (so a mean differs from a sum), with labels (dot's nodelets divide too).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from pathlib import Path
from typing import Dict, List

import pytest
from test_go_parity_graph import graph_profile, heap_profile

from profkit.cli import main
from profkit.model import FrameKey, Profile, ProfileBuilder, save

pytestmark = pytest.mark.go


def delay_profile(seed: int) -> Profile:
    """Contentions and delay (ns), the delay per contention varying by stack."""
    rnd = random.Random(seed)
    b = ProfileBuilder([("contentions", "count"), ("delay", "nanoseconds")],
                       default_sample_type="delay", mapping_filename="/usr/bin/python3.11")
    locs = [b.location(FrameKey(f"app.l{i % 3}.f{i}", f"/srv/l{i % 3}.py", 4 + i, 1))
            for i in range(18)]
    root = b.location(FrameKey("app.main", "/srv/main.py", 1, 1))
    for _ in range(300):
        stack = [rnd.choice(locs) for _ in range(rnd.randint(1, 5))] + [root]
        n = rnd.randint(1, 9)
        lab = {"lock": rnd.choice(["a", "b"])} if rnd.random() < 0.5 else None
        b.add_locations(stack, [n, n * rnd.randint(1_000, 3_000_000)], labels=lab)
    return b.build(time_nanos=1_700_000_000_000_000_000)


def zero_delay_profile(seed: int) -> Profile:
    """Contentions and delay with zeros: 30 % of samples have delay 0, 10 % count 0
    (pprof's mean divisor counts every sample whose value or count is not 0), and
    half carry a ``bytes`` label (dot's numeric nodelets); one function is only in
    samples of delay 0 (a weight-0 edge into a node that is not shown)."""
    rnd = random.Random(seed)
    b = ProfileBuilder([("contentions", "count"), ("delay", "nanoseconds")],
                       default_sample_type="delay", mapping_filename="/usr/bin/python3.11")
    locs = [b.location(FrameKey(f"app.z{i % 3}.g{i}", f"/srv/z{i % 3}.py", 4 + i, 1))
            for i in range(12)]
    root = b.location(FrameKey("app.main", "/srv/main.py", 1, 1))
    for _ in range(200):
        stack = [rnd.choice(locs) for _ in range(rnd.randint(1, 4))] + [root]
        n, r = rnd.randint(1, 9), rnd.random()
        delay = 0 if r < 0.3 else n * rnd.randint(1_000, 3_000_000)
        if 0.3 <= r < 0.4:
            n = 0
        lab = {"lock": rnd.choice(["a", "b"])} if rnd.random() < 0.5 else None
        nums = {"bytes": rnd.choice([8, 64, 4096])} if rnd.random() < 0.5 else None
        b.add_locations(stack, [n, delay], labels=lab, num_labels=nums)
    idle = b.location(FrameKey("app.z.idle", "/srv/z.py", 2, 1))  # only in delay-0 samples
    for n in (3, 5):
        b.add_locations([idle, locs[0], root], [n, 0])
    return b.build(time_nanos=1_700_000_000_000_000_000)


@pytest.fixture(scope="module")
def files(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """Names -> paths: the corpus profiles and profkit-written ones (shared by the
    parity tests of -call_tree, -mean and -o, which import this fixture)."""
    d = tmp_path_factory.mktemp("calltree-profiles")
    out = {"sample": str(corpus / "sample.cpu"), "large": str(corpus / "large.cpu")}
    for name, seed, labels in (("labels", 1, True), ("other", 2, True), ("plain", 3, False)):
        save(graph_profile(seed, labels=labels), d / f"{name}.pb.gz")
        out[name] = str(d / f"{name}.pb.gz")
    save(delay_profile(7), d / "delay.pb.gz")
    out["delay"] = str(d / "delay.pb.gz")
    save(zero_delay_profile(3), d / "zero.pb.gz")
    out["zero"] = str(d / "zero.pb.gz")
    save(heap_profile(6, labels=True), d / "heap.pb.gz")
    out["heap"] = str(d / "heap.pb.gz")
    save(heap_profile(10, labels=False), d / "heapplain.pb.gz")
    out["heapplain"] = str(d / "heapplain.pb.gz")
    dropping = graph_profile(2, labels=True)
    dropping.drop_frames = "app.mod1.func1|app.inl.helper0"  # pprof prunes these on load
    save(dropping, d / "drop.pb.gz")
    out["drop"] = str(d / "drop.pb.gz")
    return out


_NODE = re.compile(r'^(N\d+) \[label="(.*?)" id="node\d+" (.*)$')
_ID = re.compile(r"\bN(N?)(\d+)(?=[_ \]]|$)")


def graph_lines(dot: str) -> Counter[str]:
    """The dot source as a multiset of lines, node ids replaced by their node's line."""
    lines = dot.splitlines()
    node_line: Dict[str, str] = {}
    for line in lines:
        m = _NODE.match(line)
        if m:
            node_line[m.group(1)[1:]] = f"{m.group(2)} {m.group(3)}"
    out: Counter[str] = Counter()
    for line in lines:
        m = _NODE.match(line)
        if m:
            out["node " + node_line[m.group(1)[1:]]] += 1
            continue
        out[_ID.sub(lambda i: f"<{i.group(1)}{node_line.get(i.group(2), i.group(2))}>", line)] += 1
    return out


def profkit_out(capsys: pytest.CaptureFixture[str], args: List[str]) -> str:
    code = main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out


CALL_TREE_CASES = [  # (name, options, file, pprof deterministic)
    ("labels", [], "labels", True),
    ("labels nodecount 10", ["-nodecount=10"], "labels", True),
    ("labels all nodes", ["-nodecount=0"], "labels", False),
    ("plain", [], "plain", False),
    ("plain nodecount 7", ["-nodecount=7"], "plain", False),
    ("other cum", ["-cum", "-nodecount=12"], "other", False),
    ("other focus", ["-focus=func1"], "other", False),
    ("sample", [], "sample", False),
    ("sample lines", ["-lines"], "sample", False),
    ("large", [], "large", True),
    ("large files", ["-files", "-nodecount=20"], "large", False),
]


@pytest.mark.parametrize("case,opts,name,deterministic", CALL_TREE_CASES,
                         ids=[c[0] for c in CALL_TREE_CASES])
def test_dot_call_tree_matches_go(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, case: str, opts: List[str], name: str, deterministic: bool
) -> None:
    args = [o.format(**files) for o in opts]
    expected = go_pprof("-dot", "-call_tree", *args, files[name]).stdout
    got = profkit_out(capsys, ["dot", "-call_tree", *args, files[name]])
    plain = go_pprof("-dot", *args, files[name]).stdout
    assert graph_lines(expected) != graph_lines(plain)  # the option changes the graph
    assert graph_lines(got) == graph_lines(expected)
    if deterministic:
        assert got == expected


def test_svg_call_tree_is_the_call_tree_dot(files, capsys) -> None:  # type: ignore[no-untyped-def]
    dot = profkit_out(capsys, ["dot", "-call_tree", files["labels"]])
    svg = profkit_out(capsys, ["svg", "-call_tree", files["labels"]])
    assert svg.count('class="node"') == 1 + len(re.findall(r'^N\d+ \[label="', dot, re.M)) + \
        len(re.findall(r'^NN?\d+_[\d_]+ \[label', dot, re.M))  # 1: the legend


MEAN_CASES = [  # (report, options, file)
    ("tree", [], "delay"),
    ("tree", ["-nodecount=8", "-cum"], "delay"),
    ("tree", ["-lines"], "delay"),
    ("peek", ["f1[0-9]"], "delay"),
    ("dot", [], "delay"),
    ("dot", ["-nodecount=6"], "delay"),
    ("dot", ["-focus=f3"], "delay"),
    ("dot", ["-call_tree"], "delay"),
    ("tree", ["-sample_index=cpu"], "labels"),
    ("dot", [], "sample"),
    # bytes nodelets divided too (more than four sizes: ranges, ordered by their means)
    ("dot", [], "heap"),
    ("dot", ["-nodecount=5"], "heap"),
    ("dot", ["-call_tree", "-nodecount=8"], "heap"),  # all nodes: pprof's nodelets vary
    ("dot", ["-tagfocus=thread=main", "-lines"], "heap"),
    # samples of value 0 count in the divisors; their weight-0 edges are in the graph
    ("top", [], "zero"),
    ("tree", [], "zero"),
    ("tree", ["-trim=false"], "zero"),
    ("peek", ["g1$"], "zero"),
    ("peek", ["."], "zero"),
    ("dot", [], "zero"),
    ("dot", ["-nodecount=4"], "zero"),
    ("dot", ["-call_tree", "-nodecount=8"], "zero"),
    ("dot", ["-call_tree"], "zero"),
]


@pytest.mark.parametrize("report,opts,name", MEAN_CASES,
                         ids=[f"{c[0]} {' '.join(c[1])} {c[2]}" for c in MEAN_CASES])
def test_mean_matches_go(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, report: str, opts: List[str], name: str
) -> None:
    go_args = [f"-{report}={opts[0]}", *opts[1:]] if report == "peek" else [f"-{report}", *opts]
    expected = go_pprof("-mean", *go_args, files[name]).stdout
    got = profkit_out(capsys, [report, "-mean", *opts, files[name]])
    if name in ("delay", "zero", "heap"):
        assert expected != go_pprof(*go_args, files[name]).stdout
    if "-call_tree" in opts:
        assert graph_lines(got) == graph_lines(expected)
    else:
        assert got == expected


def test_mean_delay_shortcut_on_dot(go_pprof, files, capsys) -> None:  # type: ignore[no-untyped-def]
    expected = go_pprof("-dot", "-mean_delay", files["delay"]).stdout
    assert profkit_out(capsys, ["dot", "-mean_delay", files["delay"]]) == expected


DIFF_DOT_CASES = [  # (options, file): pprof's output is the same run after run for these
    (["-diff_base={heapplain}"], "heap"),
    (["-diff_base={delay}"], "zero"),
    (["-diff_base={zero}"], "delay"),
    (["-diff_base={delay}", "-mean"], "zero"),
]


@pytest.mark.parametrize("opts,name", DIFF_DOT_CASES,
                         ids=[f"{' '.join(c[0])} {c[1]}" for c in DIFF_DOT_CASES])
def test_dot_diff_entropy_order_matches_go(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, opts: List[str], name: str
) -> None:
    """A diff node whose out-edges outweigh its (negative) flat has a negative entropy
    total: Go's Log2 of the negative fractions is NaN, so such nodes sort as NaN scores
    (which decides which nodes a nodecount keeps)."""
    args = [o.format(**files) for o in opts]
    expected = go_pprof("-dot", *args, files[name]).stdout
    assert profkit_out(capsys, ["dot", *args, files[name]]) == expected


UNIT_CASES = [(["-unit=kb"], "zero"), (["-unit=mb", "-mean"], "zero"),
              (["-unit=mb", "-call_tree", "-nodecount=8"], "heap")]


@pytest.mark.parametrize("opts,name", UNIT_CASES,
                         ids=[f"{' '.join(c[0])} {c[1]}" for c in UNIT_CASES])
def test_dot_bytes_nodelets_in_output_unit(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, opts: List[str], name: str
) -> None:
    """pprof names ``bytes`` nodelets in the output unit (``0.06kB``; ``0`` for sizes
    that round to nothing, which are then one nodelet)."""
    expected = go_pprof("-dot", *opts, files[name]).stdout
    got = profkit_out(capsys, ["dot", *opts, files[name]])
    if "-call_tree" in opts:
        assert graph_lines(got) == graph_lines(expected)
    else:
        assert got == expected
