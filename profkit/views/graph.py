"""pprof's call graph (``internal/graph.newGraph``) from a built report, as plain data.

A graph node is a report node at the request's granularity (``views.nodes``). Per
sample, walking the stack from the root: every node gets the sample's value in its
cum once, however often it recurs; every caller -> callee pair gets it once in its
edge weight (a node calling itself directly makes no edge); the leaf gets it in its
flat. An edge is *inline* when every sample reached the callee through an inlined
call (the callee is not the outermost line of its location), and *residual* when a
sample skipped nodes that were not kept in between.

Building is linear in unique stacks: samples with the same stack (and, for dot's
nodelets, the same labels) are summed first, and each unique stack is expanded to
its leaf-to-root node path once (``StackPaths``); rebuilding with a kept set (the
trimming steps in ``views.graph_trim``) reuses those paths.
"""

from __future__ import annotations

import re
from collections import _count_elements, defaultdict  # type: ignore[attr-defined]
from dataclasses import dataclass, field
from itertools import chain, compress, repeat
from operator import add, mul
from typing import Dict, Iterable, List, Optional, Set, Tuple

from profkit.analysis import kernels
from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError
from profkit.views.nodes import NodeKey, assign_nodes, printable_name
from profkit.views.paths import FileNamer

__all__ = ["CallGraph", "Edge", "StackPaths", "build_graph", "node_values", "stack_paths"]

_BASE = "pprof::base"


@dataclass
class Edge:
    """A caller -> callee edge: its weight and pprof's residual / inline marks."""

    src: int
    dest: int
    weight: int
    residual: bool = False
    inline: bool = True


@dataclass
class CallGraph:
    """Nodes (indexes into ``keys``/``names``) in report order, their values and edges.

    ``out_edges[n][m]`` and ``in_edges[m][n]`` are the same ``Edge``. ``label_tags``
    holds, per node, each joined label set's [flat, cum] (dot's nodelets);
    ``numeric_tags`` per node, per joined label set, per formatted ``bytes`` label
    value: [value, flat, cum] (``views.graph_tags``).
    """

    keys: List[NodeKey]
    names: List[str]
    nodes: List[int]
    flat: Dict[int, int]
    cum: Dict[int, int]
    out_edges: Dict[int, Dict[int, Edge]]
    in_edges: Dict[int, Dict[int, Edge]]
    label_tags: Dict[int, Dict[str, List[int]]] = field(default_factory=dict)
    numeric_tags: Dict[int, Dict[str, Dict[str, List[int]]]] = field(default_factory=dict)

    def remove_edge(self, e: Edge) -> None:
        """Delete ``e`` from both of its nodes' edge maps."""
        self.out_edges[e.src].pop(e.dest, None)
        self.in_edges[e.dest].pop(e.src, None)

    def sorted_edges(self, edges: Iterable[Edge]) -> List[Edge]:
        """Return ``edges`` in pprof's order: |weight| descending, then source, dest name."""
        names = self.names
        return sorted(edges, key=lambda e: (-abs(e.weight), names[e.src], names[e.dest]))


@dataclass
class StackPaths:
    """The unique stacks of a report as leaf-to-root node paths, with their weights.

    ``paths[i]`` is a tuple of node indexes, leaf first (a location's inlined lines
    innermost first, as in the profile); ``inline[i]`` says, per entry, whether it
    is an inlined line (None when the stack has none); ``weights[i]`` is the summed
    sample value; ``labels[i]`` the joined labels (``labels`` None: not kept);
    ``numbers[i]`` the ``bytes`` numeric label values (pprof keeps no other) in
    ``number_unit``; ``tag_unit``: pprof's output unit.
    """

    keys: List[NodeKey]
    names: List[str]
    paths: List[Tuple[int, ...]]
    inline: List[Optional[Tuple[bool, ...]]]
    weights: List[int]
    labels: Optional[List[str]] = None
    repeats: List[bool] = field(default_factory=list)
    numbers: Optional[List[Tuple[int, ...]]] = None
    number_unit: str = "bytes"
    tag_unit: str = "minimum"
    file_name: Optional[FileNamer] = None  # how node files were named (``assign_nodes``)

    def path_repeats(self) -> List[bool]:
        """Per path, whether a node occurs twice in it (recursion); computed once."""
        if len(self.repeats) != len(self.paths):
            self.repeats = [len(set(p)) != len(p) for p in self.paths]
        return self.repeats


def _joined_labels(labels: Dict[str, List[str]]) -> str:
    """pprof's ``joinLabels``: sorted ``key:value`` joined by a literal backslash-n."""
    parts = sorted(f"{k}:{v}" for k, vs in labels.items() if k != _BASE for v in vs)
    return "\\n".join(parts)


def stack_paths(t: StackTable, si: int, granularity: str, *, with_labels: bool = False,
                divisor_index: Optional[int] = None, tag_unit: str = "minimum",
                file_name: Optional[FileNamer] = None) -> StackPaths:
    """Group ``t``'s samples by stack (and labels) and expand each to its node path.

    Samples whose value is 0 are skipped, as pprof does, unless value ``divisor_index``
    (``-mean``'s count) is not 0. ``tag_unit`` names ``bytes`` nodelets; ``file_name``
    names node files (``assign_nodes``). A location id the table does not know is a
    ProfileFormatError.
    """
    loc_nodes, keys = assign_nodes(t, granularity, file_name)
    names = [printable_name(k) for k in keys]
    use_labels = with_labels and t.labels is not None and (
        any(t.labels) or (t.num_labels is not None and any(t.num_labels)))
    label_list = t.labels if use_labels else None
    if label_list is None:
        fast = kernels.group_paths(t.stacks, t.values, si, divisor_index, loc_nodes, len(keys))
        if fast is not None:
            return StackPaths(keys, names, [k[0] for k in fast], [k[1] for k in fast],
                              list(fast.values()), file_name=file_name)
    multi = {lid for lid, ns in loc_nodes.items() if len(ns) != 1}
    one = {lid: ns[0] for lid, ns in loc_nodes.items() if len(ns) == 1}
    inl = {lid: (True,) * (len(ns) - 1) + (False,) for lid, ns in loc_nodes.items()}
    # grouped by node path (several stacks can share one), inline marks and labels
    nums = t.num_labels if label_list is not None else None
    if nums is not None and not any(n.get("bytes") for n in nums):
        nums = None
    GroupKey = Tuple[Tuple[int, ...], Optional[Tuple[bool, ...]], str, Tuple[int, ...]]
    groups: Dict[GroupKey, int] = {}
    get = groups.get
    key: GroupKey
    try:
        for i, (stack, vals) in enumerate(zip(t.stacks, t.values)):
            v = vals[si]
            if not stack or not (v or (divisor_index is not None and vals[divisor_index])):
                continue
            if multi and not multi.isdisjoint(stack):
                key = (tuple(chain.from_iterable(map(loc_nodes.__getitem__, stack))),
                       tuple(chain.from_iterable(map(inl.__getitem__, stack))), "", ())
            else:
                key = (tuple(map(one.__getitem__, stack)), None, "", ())
            if label_list is not None:
                numbers = tuple(nums[i].get("bytes", ())) if nums is not None else ()
                key = (key[0], key[1], _joined_labels(label_list[i]), numbers)
            groups[key] = get(key, 0) + v
    except (KeyError, TypeError):
        raise ProfileFormatError("malformed profile: sample has nil location") from None
    paths = [k[0] for k in groups]
    flags = [k[1] for k in groups]
    labels = [k[2] for k in groups] if label_list is not None else None
    weights = list(groups.values())
    if nums is not None:
        from profkit.views.graph_tags import bytes_unit

        return StackPaths(keys, names, paths, flags, weights, labels,
                          numbers=[k[3] for k in groups], number_unit=bytes_unit(t), tag_unit=tag_unit,
                          file_name=file_name)
    return StackPaths(keys, names, paths, flags, weights, labels, file_name=file_name)


def _count(counts: Dict[int, int], items: Iterable[int]) -> None:
    """Add 1 per item to ``counts`` (Counter.update's C loop, without its checks)."""
    _count_elements(counts, items)


def node_values(sp: StackPaths, kept: Optional[Set[int]] = None
                ) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Return (flat, cum) per node: cum once per sample, flat to a kept leaf.

    A kept node's values do not depend on which other nodes are kept, which is what
    lets the trimming decide on the whole graph's values before building edges.
    """
    fast = kernels.node_values(sp.paths, sp.weights, len(sp.keys), kept)
    if fast is not None:
        return fast
    flat: Dict[int, int] = defaultdict(int)
    counts: Dict[int, Dict[int, int]] = defaultdict(dict)
    for path, w, repeats in zip(sp.paths, sp.weights, sp.path_repeats()):
        if kept is None:
            _count(counts[w], set(path) if repeats else path)
            flat[path[0]] += w
        else:
            _count(counts[w], kept.intersection(path))
            if path[0] in kept:
                flat[path[0]] += w
    cum: Dict[int, int] = defaultdict(int)
    for w, counter in counts.items():
        for n, count in counter.items():
            cum[n] += count * w
    return dict(flat), dict(cum)


_RESIDUAL, _INLINE = 1, 2


_GAPS = re.compile(b"\\x00+")


def _edge_keys(sp: StackPaths, kept: Optional[Set[int]], touching: Optional[Set[int]] = None
               ) -> Tuple[Dict[int, Dict[int, int]], Dict[int, int], Dict[int, int]]:
    """Count edges as ints ``caller * N + callee``, once per sample (first occurrence).

    Returns (per weight: edge key -> samples, edge key -> samples whose first use,
    from the root, was residual, ... was inline). Paths are leaf first, so in
    ``dict(zip(keys, bits))`` the root-most use of a pair is the one that stays.
    Paths that lose nodes to ``kept`` are first reduced to (weight, kept nodes,
    where the gaps are, inline marks) and grouped: few distinct ones remain under a nodecount.
    """
    n_all = len(sp.keys)
    diag = n_all + 1
    by_weight: Dict[int, Dict[int, int]] = defaultdict(dict)
    residual: Dict[int, int] = {}
    inline: Dict[int, int] = {}
    reduced: Dict[Tuple[int, Tuple[int, ...], bytes, Optional[Tuple[bool, ...]]], int] = {}
    for path, flags, w, repeats in zip(sp.paths, sp.inline, sp.weights, sp.path_repeats()):
        if len(path) < 2 or (touching is not None and touching.isdisjoint(path)):
            continue
        if kept is not None and not kept.issuperset(path):
            mask = list(map(kept.__contains__, path))
            kp = tuple(compress(path, mask))
            if len(kp) < 2:
                continue
            gaps = _GAPS.sub(b"\x00", bytes(mask).strip(b"\x00"))
            rkey = (w, kp, gaps, tuple(compress(flags, mask)) if flags is not None else None)
            reduced[rkey] = reduced.get(rkey, 0) + 1
            continue
        if flags is None:
            if repeats:
                unique = set(map(add, map(mul, path[1:], repeat(n_all)), path))
                unique.difference_update(map(mul, path, repeat(diag)))
                _count(by_weight[w], unique)
            else:
                _count(by_weight[w], map(add, map(mul, path[1:], repeat(n_all)), path))
            continue
        keys = list(map(add, map(mul, path[1:], repeat(n_all)), path))
        first = _first_uses(keys, path, map(mul, flags, repeat(_INLINE)), diag)
        _count(by_weight[w], first.keys())
        _count(inline, compress(first.keys(), first.values()))
    for (w, kp, gaps, kflags), count in reduced.items():
        keys = list(map(add, map(mul, kp[1:], repeat(n_all)), kp))
        # gaps holds 1 per kept node and one 0 per run of dropped ones between them
        marks = [gaps[i + 1] == 0 for i, c in enumerate(gaps[:-1]) if c]
        bits: Iterable[int] = marks
        if kflags is not None:
            bits = map(add, marks, map(mul, kflags, repeat(_INLINE)))
        first = _first_uses(keys, kp, bits, diag)
        counts = by_weight[w]
        for key, bit in first.items():
            counts[key] = counts.get(key, 0) + count
            if bit & _RESIDUAL:
                residual[key] = residual.get(key, 0) + count
            if bit & _INLINE:
                inline[key] = inline.get(key, 0) + count
    return by_weight, residual, inline


def _first_uses(keys: List[int], path: Tuple[int, ...], bits: Iterable[int], diag: int
                ) -> Dict[int, int]:
    """Return edge key -> marks of its root-most use, self-calls left out."""
    first = dict(zip(keys, bits))
    for selfkey in set(map(mul, path, repeat(diag))).intersection(first):
        del first[selfkey]
    return first


def _edges(sp: StackPaths, kept: Optional[Set[int]], touching: Optional[Set[int]]
           ) -> Tuple[Dict[int, int], Set[int], Set[int]]:
    """(weight per edge key, residual keys, keys every path's first use inlined)."""
    by_weight, residual, inline = _edge_keys(sp, kept, touching)
    weight: Dict[int, int] = {}
    get = weight.get
    for w, counter in by_weight.items():
        if w == 1:
            for key, count in counter.items():
                weight[key] = get(key, 0) + count
        else:
            for key, count in counter.items():
                weight[key] = get(key, 0) + count * w
    uses = {key: sum(c.get(key, 0) for c in by_weight.values()) for key in inline}
    return weight, set(residual), {k for k, n in inline.items() if n == uses[k]}


def build_graph(sp: StackPaths, kept: Optional[Set[int]] = None,
                values: Optional[Tuple[Dict[int, int], Dict[int, int]]] = None,
                touching: Optional[Set[int]] = None) -> CallGraph:
    """Return the graph of ``sp`` (pprof's ``newGraph``), only over ``kept`` nodes if given.

    ``values``: the whole graph's (flat, cum) from ``node_values(sp)`` when the
    caller has them (a kept node's values are the same). ``touching``: build only
    the edges into or out of these nodes (peek shows no others). Nodes come out in no
    particular order (``graph_trim`` sorts them); nodes whose flat and cum are both
    0 are left out. An edge is residual if any sample's first use of it skipped
    dropped nodes, inline if every sample's first use was inlined.
    """
    if values is None:
        flat, cum = node_values(sp, kept)
    elif kept is None:
        flat, cum = values
    else:
        flat = {n: v for n, v in values[0].items() if n in kept}
        cum = {n: v for n, v in values[1].items() if n in kept}
    weight, residual, inline = kernels.edge_weights(
        sp.paths, sp.inline, sp.weights, len(sp.keys), kept, touching) or _edges(
        sp, kept, touching)
    n_all = len(sp.keys)
    out_edges: Dict[int, Dict[int, Edge]] = defaultdict(dict)
    in_edges: Dict[int, Dict[int, Edge]] = defaultdict(dict)
    for key, wt in weight.items():
        src, dest = divmod(key, n_all)
        if touching is not None and src not in touching and dest not in touching:
            continue
        e = Edge(src, dest, wt, key in residual, key in inline)
        out_edges[src][dest] = e
        in_edges[dest][src] = e
    nodes = [n for n, c in cum.items() if c or flat.get(n, 0)]
    tags: Dict[int, Dict[str, List[int]]] = {}
    numeric: Dict[int, Dict[str, Dict[str, List[int]]]] = {}
    if sp.labels is not None:
        from profkit.views.graph_tags import label_tags, numeric_tags

        tags = label_tags(sp, kept)
        if sp.numbers is not None:
            numeric = numeric_tags(sp, kept)
    return CallGraph(sp.keys, sp.names, nodes, flat, cum, out_edges, in_edges, tags, numeric)
