"""pprof's graph trimming (``report.newTrimmedGraph``), node orders and redundant edges.

The steps, as pprof takes them: build the whole graph; drop nodes whose |cum| is
below ``nodefraction`` x (sum of flat) and rebuild over the rest from the samples
("Dropped N nodes"); sort (flat, cum, or for dot pprof's entropy order); with a
``nodecount``, drop light edges and tags, keep the first N nodes (dot counts each
node's nodelets, up to 4, as nodes) and rebuild again; finally drop edges lighter
than ``edgefraction`` x (sum of flat) ("Dropped N edges") and, for dot, residual
edges whose destination is reachable another way (``RemoveRedundantEdges``).
Rebuilding from the samples, not from the previous graph, is what makes residual
edges carry the exact weight of the paths they stand for.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from profkit.views.graph import CallGraph, Edge, StackPaths, build_graph, node_values
from profkit.views.nodes import NodeKey

__all__ = ["GraphLimits", "TrimmedGraph", "sort_nodes", "trimmed_graph"]

#: Nodelets a dot node shows at most, and counts as nodes when selecting (pprof's).
MAX_NODELETS = 4


@dataclass(frozen=True)
class GraphLimits:
    """How much of the graph to keep: pprof's nodecount (0 = all) and fractions.

    ``drop_negative``: leave out nodes whose flat (or, at 0 flat, cum) is negative.
    """

    nodecount: int = 0
    nodefraction: float = 0.005
    edgefraction: float = 0.001
    cum: bool = False
    visual: bool = False
    drop_negative: bool = False


@dataclass
class TrimmedGraph:
    """A trimmed, sorted graph and the counts pprof prints about the trimming."""

    graph: CallGraph
    orig_count: int
    dropped_nodes: int
    dropped_edges: int
    #: the node set the final graph was built over (None: all) and peek's ``touching``
    kept: Optional[Set[int]] = None
    touching: Optional[Set[int]] = None
    #: with ``mean``, the divisors of the shown values (``views.graph_mean``)
    divisors: Optional[Any] = None


def _info_text(k: NodeKey) -> str:
    """``fmt.Sprint(NodeInfo)``: pprof's last tie-break between nodes."""
    name, file, lineno, objfile, start, address = k
    return f"{{{name}  {address} {file} {start} {lineno} {objfile}}}"


def _go_log2(x: float) -> float:
    """Go's ``math.Log2`` (frexp-based), so entropy scores truncate as pprof's do."""
    frac, exp = math.frexp(x)
    if frac == 0.5:
        return float(exp - 1)
    return math.log(frac) * (1 / math.log(2)) + exp


def _edge_entropy(edges: Dict[int, Edge], self_value: int) -> float:
    total = self_value + sum(abs(e.weight) for e in edges.values() if e.weight > 0)
    score = 0.0
    if total != 0:
        for e in edges.values():
            frac = abs(e.weight) / total
            if frac > 0:
                score += -frac * _go_log2(frac)
            else:  # Go: 0 * Log2(0) = 0 * -Inf, and Log2 of a negative (total < 0): NaN
                score += math.nan
        if self_value > 0:
            frac = abs(self_value) / total
            score += -frac * _go_log2(frac)
    return score


_INT64_MIN = -(1 << 63)


def _int64(v: int) -> int:
    """Wrap ``v`` to a Go int64."""
    return (v - _INT64_MIN) % (1 << 64) + _INT64_MIN


def _go_abs64(v: int) -> int:
    """pprof's ``abs64`` on an int64: the minimum stays negative, as in Go."""
    return _int64(-v) if v < 0 else v


def _entropy_score(g: CallGraph, n: int) -> int:
    """pprof's ``entropyScore``: favour entries, leaves, and nodes that fan in or out.

    A zero-weight edge, or edges outweighing a negative flat (diffs), make Go's score
    NaN, which converts to the minimum int64 on amd64; that value, plus flat, is
    reproduced so such nodes sort as there.
    """
    flat, cum = g.flat.get(n, 0), g.cum.get(n, 0)
    ins, outs = g.in_edges.get(n, {}), g.out_edges.get(n, {})
    score = 1.0 if not ins else _edge_entropy(ins, 0)
    score += 1.0 if not outs else _edge_entropy(outs, flat)
    product = score * cum
    if math.isnan(product) or math.isinf(product):
        return _int64(_INT64_MIN + flat)
    return _int64(int(product) + flat)


def sort_nodes(g: CallGraph, cum: bool, visual: bool) -> None:
    """Sort ``g.nodes`` in place as pprof's ``SortNodes`` (flat, cum or entropy order).

    The last tie-break (``fmt.Sprint`` of the node info) only matters between nodes
    of the same printable name, so it is computed for those alone.
    """
    names, keys = g.names, g.keys
    flat, cumv = g.flat, g.cum
    seen: Dict[str, int] = {}
    for n in g.nodes:
        seen[names[n]] = seen.get(names[n], 0) + 1
    shared = {name for name, count in seen.items() if count > 1}

    def info(n: int) -> str:
        return _info_text(keys[n]) if shared and names[n] in shared else ""

    key: Callable[[int], Tuple[int, str, int, str]]
    if visual:
        score = {n: _entropy_score(g, n) for n in g.nodes}
        key = lambda n: (-_go_abs64(score[n]), names[n], -abs(flat.get(n, 0)), info(n))  # noqa: E731
    elif cum:
        key = lambda n: (-abs(cumv.get(n, 0)), names[n], -abs(flat.get(n, 0)), info(n))  # noqa: E731
    else:
        key = lambda n: (-abs(flat.get(n, 0)), names[n], -abs(cumv.get(n, 0)), info(n))  # noqa: E731
    g.nodes.sort(key=key)


def _trim_edges(g: CallGraph, cutoff: int) -> int:
    """Remove edges into graph nodes lighter than ``cutoff``; return how many."""
    dropped = 0
    if cutoff <= 0:
        return 0
    for n in g.nodes:
        ins = g.in_edges.get(n)
        if not ins:
            continue
        for e in [e for e in ins.values() if abs(e.weight) < cutoff]:
            g.remove_edge(e)
            dropped += 1
    return dropped


def _trim_tags(g: CallGraph, cutoff: int) -> None:
    for n in g.nodes:
        tags = g.label_tags.get(n)
        if tags:
            g.label_tags[n] = {k: t for k, t in tags.items()
                               if abs(t[0]) >= cutoff or abs(t[1]) >= cutoff}
        numeric = g.numeric_tags.get(n)
        if numeric:
            g.numeric_tags[n] = {lab: {k: t for k, t in vals.items()
                                       if abs(t[1]) >= cutoff or abs(t[2]) >= cutoff}
                                 for lab, vals in numeric.items()}


def _count_tags(g: CallGraph, n: int) -> int:
    """pprof's ``countTags``: label and numeric tags with a flat value."""
    count = sum(1 for t in g.label_tags.get(n, {}).values() if t[0] != 0)
    for vals in g.numeric_tags.get(n, {}).values():
        count += sum(1 for t in vals.values() if t[1] != 0)
    return count


def _select_top(g: CallGraph, count: int, visual: bool) -> Set[int]:
    if visual:
        shown = 0
        for i, n in enumerate(g.nodes):
            shown += min(_count_tags(g, n), MAX_NODELETS) + 1
            if shown >= count:
                count = i + 1
                break
    return set(g.nodes[:count])


def _is_redundant(g: CallGraph, e: Edge) -> bool:
    """Whether ``e.src`` reaches ``e.dest`` another way (walking callers from dest)."""
    src = e.src
    seen = {e.dest}
    queue = deque([e.dest])
    while queue:
        n = queue.popleft()
        for ie in list(g.in_edges.get(n, {}).values()):
            if ie is e or ie.src in seen:
                continue
            if ie.src == src:
                return True
            seen.add(ie.src)
            queue.append(ie.src)
    return False


def remove_redundant_edges(g: CallGraph) -> None:
    """pprof's ``RemoveRedundantEdges``: drop residual edges implied by other paths."""
    for n in reversed(g.nodes):
        ins = g.sorted_edges(g.in_edges.get(n, {}).values())
        for e in reversed(ins):
            if not e.residual:
                break
            if _is_redundant(g, e):
                g.remove_edge(e)


def _negative(flat: int, cum: int) -> bool:
    """pprof's ``isNegative``: what ``drop_negative`` leaves out."""
    return flat < 0 or (flat == 0 and cum < 0)


def _drop_negative(g: CallGraph, limits: GraphLimits) -> CallGraph:
    if limits.drop_negative:
        g.nodes = [n for n in g.nodes if not _negative(g.flat.get(n, 0), g.cum.get(n, 0))]
    return g


def _value_order(nodes: List[int], names: List[str], keys: List[NodeKey],
                 flat: Dict[int, int], cum: Dict[int, int], by_cum: bool) -> List[int]:
    if by_cum:
        return sorted(nodes, key=lambda n: (-abs(cum.get(n, 0)), names[n],
                                            -abs(flat.get(n, 0)), _info_text(keys[n])))
    return sorted(nodes, key=lambda n: (-abs(flat.get(n, 0)), names[n],
                                        -abs(cum.get(n, 0)), _info_text(keys[n])))


def trimmed_graph(sp: StackPaths, limits: GraphLimits,
                  only: Optional[Callable[[str], object]] = None) -> TrimmedGraph:
    """Return the graph of ``sp`` trimmed and sorted as ``go tool pprof`` does (module doc).

    ``only`` (peek's pattern; not with ``visual``): build just the edges of the nodes
    whose printable name it accepts; every node keeps its values.

    Kept nodes keep their flat and cum whatever else is dropped, so outside dot
    (whose entropy order needs edges) the node choice is made on values alone and
    edges are built once, over the final node set.
    """
    flat, cum = node_values(sp)
    nodes = [n for n, c in cum.items() if c or flat.get(n, 0)]
    if limits.drop_negative:
        nodes = [n for n in nodes if not _negative(flat.get(n, 0), cum.get(n, 0))]
    total_value = sum(flat.get(n, 0) for n in nodes)
    shown = len(nodes)  # pprof rebuilds only if one of these is dropped (else edges stay)
    node_cutoff = abs(int(total_value * limits.nodefraction))
    edge_cutoff = abs(int(total_value * limits.edgefraction))
    dropped_nodes = 0
    if node_cutoff > 0:
        kept_nodes = [n for n in nodes if abs(cum.get(n, 0)) >= node_cutoff]
        dropped_nodes = len(nodes) - len(kept_nodes)
        nodes = kept_nodes
    orig_count = len(nodes)
    if not limits.visual:
        if limits.nodecount > 0:
            nodes = _value_order(nodes, sp.names, sp.keys, flat, cum, limits.cum)
            nodes = nodes[:limits.nodecount]
        touching = None if only is None else {n for n in nodes if only(sp.names[n])}
        kept_set = set(nodes) if len(nodes) < shown else None
        g = _drop_negative(build_graph(sp, kept_set, (flat, cum), touching), limits)
        sort_nodes(g, limits.cum, False)
        dropped_edges = _trim_edges(g, edge_cutoff)
        return TrimmedGraph(g, orig_count, dropped_nodes, dropped_edges, kept_set, touching)
    kept_set = set(nodes) if dropped_nodes else None
    g = _drop_negative(build_graph(sp, kept_set, (flat, cum)), limits)
    sort_nodes(g, limits.cum, True)
    if limits.nodecount > 0:
        _trim_tags(g, node_cutoff)
        _trim_edges(g, edge_cutoff)
        kept = _select_top(g, limits.nodecount, True)
        if len(kept) != len(g.nodes):
            kept_set = kept
            g = _drop_negative(build_graph(sp, kept, (flat, cum)), limits)
            sort_nodes(g, limits.cum, True)
    _trim_tags(g, node_cutoff)
    dropped_edges = _trim_edges(g, edge_cutoff)
    remove_redundant_edges(g)
    return TrimmedGraph(g, orig_count, dropped_nodes, dropped_edges, kept_set)


def graph_lines(g: CallGraph) -> List[str]:
    """Return a debugging dump of ``g`` (one line per node with flat, cum, callees)."""
    return [
        f"{g.names[n]} flat={g.flat.get(n, 0)} cum={g.cum.get(n, 0)} -> "
        + ", ".join(f"{g.names[d]}:{e.weight}" for d, e in g.out_edges.get(n, {}).items())
        for n in g.nodes
    ]
