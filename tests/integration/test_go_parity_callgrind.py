"""``profkit callgrind -mean`` and ``-call_tree`` against ``go tool pprof`` (Go 1.19).

pprof's callgrind writes, with ``-mean``, each node's mean as its self cost (the
unit chosen from the means) and the plain sums as call costs; samples of value 0
whose count is not 0 still make (weight-0) calls, also into functions that are
not listed (an empty ``cfn=``). These are compared byte for byte.

``-call_tree`` makes one node per calling context (pprof's ``newTree``), names
told apart by ``[i/n]`` per context. pprof lists contexts that tie (same name,
flat and cum) in Go map order, so its file differs from run to run; it is then
compared as a multiset of nodes: each node's object file, file, function (the
``i`` of ``[i/n]`` left out), absolute address, line, self cost and its calls
(callee file, function, address, line, cost), names and addresses uncompressed.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Dict, List, Optional, Tuple

import pytest
from test_go_parity_calltree_mean import files  # noqa: F401  (the shared profiles)

from profkit.cli import main

pytestmark = pytest.mark.go

Node = Tuple[object, ...]


def callgrind_nodes(text: str) -> Counter[Node]:
    """The nodes of a callgrind file as a multiset, independent of their order."""
    tables: Dict[str, Dict[str, str]] = {"ob": {}, "fl": {}, "fn": {}}

    def name(kind: str, value: str) -> str:
        m = re.match(r"^\((\d+)\)(?: (.*))?$", value)
        if m is None:
            return ""
        table = tables[kind[-2:]]
        if m.group(2) is not None:
            table[m.group(1)] = m.group(2)
        return re.sub(r" \[\d+/(\d+)\]$", r" [?/\1]", table[m.group(1)])

    nodes: Counter[Node] = Counter()
    where = {"ob": "", "fl": "", "fn": ""}
    node: Optional[Tuple[object, ...]] = None
    calls: List[Tuple[object, ...]] = []
    callee: List[object] = []
    prev = 0

    def address(token: str) -> int:
        if token == "*":
            return prev
        return prev + int(token) if token[0] in "+-" else int(token, 16)

    for line in text.splitlines()[2:]:
        key, _, value = line.partition("=")
        if key in where:
            where[key] = name(key, value)
        elif key in ("cfl", "cfn"):
            callee = [name(key, value)] if key == "cfl" else [*callee, name(key, value)]
        elif key == "calls":
            _, addr, lineno = line.split()
            callee += [address(addr), int(lineno)]
        elif line.startswith("* * "):
            calls.append((*callee, int(line[4:])))
        elif line:
            if node is not None:
                nodes[(*node, tuple(sorted(map(str, calls))))] += 1
                prev = node[3]  # type: ignore[assignment]
            addr, lineno, cost = line.split()
            node, calls = (where["ob"], where["fl"], where["fn"], address(addr), int(lineno),
                           int(cost)), []
    if node is not None:
        nodes[(*node, tuple(sorted(map(str, calls))))] += 1
    return nodes


def _both(go_pprof, capsys, args: List[str], path: str) -> Tuple[str, str]:  # type: ignore[no-untyped-def]
    expected = go_pprof("-callgrind", *args, path).stdout
    code = main(["callgrind", *args, path])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return expected, captured.out


MEAN_CASES = [("delay", []), ("zero", []), ("heap", []), ("sample", []),
              ("labels", ["-focus=func1"]), ("zero", ["-unit=ms"])]


@pytest.mark.parametrize("name,opts", MEAN_CASES,
                         ids=[f"{c[0]} {' '.join(c[1])}" for c in MEAN_CASES])
def test_callgrind_mean_matches_go(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, name: str, opts: List[str]  # noqa: F811
) -> None:
    expected, got = _both(go_pprof, capsys, ["-mean", *opts], files[name])
    assert expected != go_pprof("-callgrind", *opts, files[name]).stdout
    assert got == expected
    if name == "zero":  # a weight-0 call into a function that is not listed
        assert "cfn=\ncalls=0" in got and "\n* * 0\n" in got


CALL_TREE_CASES = [("delay", []), ("zero", ["-mean"]), ("heap", []), ("heap", ["-mean"]),
                   ("labels", []), ("labels", ["-focus=func1", "-mean"]), ("sample", []),
                   ("drop", ["-lines"])]


@pytest.mark.parametrize("name,opts", CALL_TREE_CASES,
                         ids=[f"{c[0]} {' '.join(c[1])}" for c in CALL_TREE_CASES])
def test_callgrind_call_tree_matches_go(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, name: str, opts: List[str]  # noqa: F811
) -> None:
    expected, got = _both(go_pprof, capsys, ["-call_tree", *opts], files[name])
    plain = go_pprof("-callgrind", *opts, files[name]).stdout
    assert callgrind_nodes(expected) != callgrind_nodes(plain)  # the option changes it
    assert got.splitlines()[:2] == expected.splitlines()[:2]  # positions, events (unit)
    assert callgrind_nodes(got) == callgrind_nodes(expected)


@pytest.mark.parametrize("opts", [[], ["-mean"], ["-focus=func1"]], ids=["plain", "mean", "focus"])
def test_callgrind_applies_the_profiles_drop_frames(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, opts: List[str]  # noqa: F811
) -> None:
    """pprof's Prune cuts a location's lines up to the dropped one (an inlined helper
    here): callgrind's nodes are the lines left (was: the whole location's)."""
    expected, got = _both(go_pprof, capsys, opts, files["drop"])
    assert got == expected


@pytest.mark.parametrize("name,opts", [("heap", []), ("sample", ["-mean"])], ids=["heap", "sample mean"])
def test_callgrind_cum_orders_nodes_by_cum(  # type: ignore[no-untyped-def]
    go_pprof, files, capsys, name: str, opts: List[str]  # noqa: F811
) -> None:
    """pprof sorts callgrind's nodes as its graph, by cum with ``-cum`` (CumNameOrder)."""
    expected, got = _both(go_pprof, capsys, ["-cum", *opts], files[name])
    assert expected != go_pprof("-callgrind", *opts, files[name]).stdout
    assert got == expected
