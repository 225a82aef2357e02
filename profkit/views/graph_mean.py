"""``-mean`` for the call-graph reports (tree, peek, dot/svg/...): pprof's ``*Div`` values.

With ``-mean`` pprof's graph nodes, edges and tags carry, beside the sum of the
sample value, the sum of the first sample value (the count) over the same
samples, and show their quotient (``FlatValue``, ``CumValue``, ``WeightValue``:
Go's integer division, truncating toward zero; no division when the divisor is 0).
Everything that decides what is shown (cutoffs, node count, sort orders of
nodes, edges and tags) uses the plain sums, so the graph is trimmed as without
``-mean`` and only the printed values change. pprof's ``-tree`` prints an edge's
plain weight (its percentage over the node's mean cum); ``-dot`` prints its mean.
One exception, pprof's: ``bytes`` nodelets grouped into ranges (more than four
values) are ordered by the groups' means (``graph_tags.collapsed_tags``).

A sample is left out only when both its value and its divisor are 0 (pprof's
``newGraph``): samples of value 0 count in the divisors, and their edges (weight
0) are in the graph (``stack_paths(divisor_index=...)``).

``divisors`` computes the divisor of every node, edge, label tag and ``bytes`` tag
of a trimmed graph from the same stacks weighted by the divisor value, over the
node set the graph was built from (or, for a call tree, the whole tree: trimming a
tree moves edges but never changes a value).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from profkit.analysis.stacks import StackTable
from profkit.views.graph import Edge, StackPaths, build_graph, node_values
from profkit.views.graph_trim import TrimmedGraph

__all__ = ["Divisors", "divided", "divisors", "numeric_divisors", "shown_cum", "shown_flat",
           "shown_tag", "shown_weight"]


@dataclass
class Divisors:
    """Per node (flat, cum), per edge (src, dest), per node and label set [flat, cum],
    per node, label set and formatted ``bytes`` value [value, flat, cum]."""

    flat: Dict[int, int]
    cum: Dict[int, int]
    edges: Dict[Tuple[int, int], int]
    tags: Dict[int, Dict[str, List[int]]]
    numeric: Dict[int, Dict[str, Dict[str, List[int]]]] = field(default_factory=dict)


def divided(value: int, div: int) -> int:
    """``value / div`` as Go divides int64 (toward zero); ``value`` when ``div`` is 0."""
    if div == 0:
        return value
    q = abs(value) // abs(div)
    return q if (value < 0) == (div < 0) else -q


def _aligned(sp: StackPaths, t: StackTable, mean_index: int, granularity: str,
             with_labels: bool) -> StackPaths:
    """``sp``'s paths weighted by the divisor value (same groups, same node ids)."""
    from profkit.views.graph import stack_paths

    dsp = stack_paths(t, mean_index, granularity, with_labels=with_labels, file_name=sp.file_name)
    labels = sp.labels if sp.labels is not None else [""] * len(sp.paths)
    numbers = sp.numbers if sp.numbers is not None else [()] * len(sp.paths)
    dlabels = dsp.labels if dsp.labels is not None else [""] * len(dsp.paths)
    dnumbers = dsp.numbers if dsp.numbers is not None else [()] * len(dsp.paths)
    by_key = {key: w for key, w in zip(zip(dsp.paths, dsp.inline, dlabels, dnumbers),
                                       dsp.weights)}
    ours = list(zip(sp.paths, sp.inline, labels, numbers))
    weights = [by_key.pop(key, 0) for key in ours]
    # pprof skips a sample only when both its value and its divisor are 0: the
    # paths whose samples all have value 0 still divide (appended, so node and
    # call-tree ids stay those of ``sp``)
    extra = list(by_key.items())
    paths = sp.paths + [k[0] for k, _ in extra]
    inline = sp.inline + [k[1] for k, _ in extra]
    weights += [w for _, w in extra]
    out_labels = None if sp.labels is None else sp.labels + [k[2] for k, _ in extra]
    out_numbers = None if sp.numbers is None else sp.numbers + [k[3] for k, _ in extra]
    return StackPaths(sp.keys, sp.names, paths, inline, weights, out_labels,
                      [], out_numbers, sp.number_unit, sp.tag_unit)


def divisors(tg: TrimmedGraph, sp: StackPaths, t: StackTable, mean_index: int,
             granularity: str, *, with_labels: bool = False, call_tree: bool = False
             ) -> Divisors:
    """Return the divisors of ``tg`` (built from ``sp``, graph node paths) for ``-mean``."""
    dsp = _aligned(sp, t, mean_index, granularity, with_labels)
    if call_tree:
        from profkit.views.call_tree import tree_paths

        tree = build_graph(tree_paths(dsp))
        edges = {(e.src, e.dest): e.weight for es in tree.out_edges.values() for e in es.values()}
        # a moved edge keeps the weight of the edge into its destination
        into = {dest: w for (_src, dest), w in edges.items()}
        g = tg.graph
        moved = {(e.src, e.dest): into.get(e.dest, 0)
                 for n in g.nodes for e in g.out_edges.get(n, {}).values()}
        return Divisors(tree.flat, tree.cum, moved, tree.label_tags, tree.numeric_tags)
    flat, cum = node_values(dsp, tg.kept)
    dg = build_graph(dsp, tg.kept, touching=tg.touching)
    edges = {(e.src, e.dest): e.weight for es in dg.out_edges.values() for e in es.values()}
    return Divisors(flat, cum, edges, dg.label_tags, dg.numeric_tags)


def shown_flat(tg: TrimmedGraph, n: int) -> int:
    """Node ``n``'s flat as pprof shows it (``FlatValue``)."""
    v = tg.graph.flat.get(n, 0)
    d = tg.divisors
    return v if d is None else divided(v, d.flat.get(n, 0))


def shown_cum(tg: TrimmedGraph, n: int) -> int:
    """Node ``n``'s cum as pprof shows it (``CumValue``)."""
    v = tg.graph.cum.get(n, 0)
    d = tg.divisors
    return v if d is None else divided(v, d.cum.get(n, 0))


def shown_weight(tg: TrimmedGraph, e: Edge) -> int:
    """Edge ``e``'s weight as pprof's dot shows it (``WeightValue``)."""
    d = tg.divisors
    return e.weight if d is None else divided(e.weight, d.edges.get((e.src, e.dest), 0))


def numeric_divisors(tg: TrimmedGraph, n: int, label: str) -> Optional[Dict[str, List[int]]]:
    """Node ``n``'s ``bytes`` tags' divisors under label set ``label``; None without -mean.

    Per formatted value: [value, flat divisor, cum divisor] (``graph_tags.collapsed_tags``).
    """
    d = tg.divisors
    return None if d is None else d.numeric.get(n, {}).get(label, {})


def shown_tag(tg: TrimmedGraph, n: int, label: str, flat: int, cum: int) -> Tuple[int, int]:
    """A label tag's (flat, cum) as shown (``Tag.FlatValue`` / ``CumValue``)."""
    d = tg.divisors
    if d is None:
        return flat, cum
    fd, cd = d.tags.get(n, {}).get(label, [0, 0])
    return divided(flat, fd), divided(cum, cd)

