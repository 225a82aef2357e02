"""pprof's ``-call_tree`` for the visual graphs (dot, svg, png, pdf): nodes split by call context.

pprof's ``graph.newTree``: walking each sample from the root, a frame becomes the
child of the node it was called from, so one function called from two places is
two nodes, and every node has at most one caller (a forest). A node's cum counts
each of its samples once (no recursion can repeat a node on one path), its flat
is the samples that end there, and the edge into it weighs its samples through
that caller; an edge is inline when every sample made that call inlined.

Trimming follows ``report.newTrimmedGraph`` with ``callTree``: nodes are never
rebuilt from the samples but cut out of the tree (pprof's ``TrimTree``): a
dropped node's children hang from its parent by a residual edge that keeps its
weight, inline only if both edges it replaces were; a dropped root's children
become roots. Kept nodes keep their flat and cum. Everything else (entropy
order, nodelet counting, edge and tag cutoffs) is the ordinary graph's
(``views.graph_trim``).

pprof numbers nodes in its entropy order, and orders ties (two contexts of one
function with the same score and flat) in Go map order, so its own output
varies from run to run when such ties exist; here they keep the order of the
samples.
"""

from __future__ import annotations

from typing import Dict, List, Set, Tuple

from profkit.views.graph import CallGraph, StackPaths, build_graph
from profkit.views.graph_trim import (
    GraphLimits,
    TrimmedGraph,
    _drop_negative,
    _select_top,
    _trim_edges,
    _trim_tags,
    remove_redundant_edges,
    sort_nodes,
)
from profkit.views.nodes import NodeKey

__all__ = ["tree_paths", "trim_tree", "trimmed_call_tree"]


def tree_paths(sp: StackPaths) -> StackPaths:
    """Return ``sp`` with each node split by its chain of callers (pprof's ``newTree``).

    A tree node is (its parent tree node, a graph node); its key and name are the
    graph node's. Paths stay leaf first, with their inline marks, labels and
    ``bytes`` values, so ``build_graph`` on the result builds pprof's tree.
    """
    keys: List[NodeKey] = []
    names: List[str] = []
    children: Dict[Tuple[int, int], int] = {}
    paths: List[Tuple[int, ...]] = []
    for path in sp.paths:
        parent = -1
        out: List[int] = []
        for node in reversed(path):
            tid = children.get((parent, node))
            if tid is None:
                tid = children[(parent, node)] = len(keys)
                keys.append(sp.keys[node])
                names.append(sp.names[node])
            out.append(tid)
            parent = tid
        out.reverse()
        paths.append(tuple(out))
    return StackPaths(keys, names, paths, list(sp.inline), list(sp.weights),
                      None if sp.labels is None else list(sp.labels),
                      repeats=[False] * len(paths),
                      numbers=None if sp.numbers is None else list(sp.numbers),
                      number_unit=sp.number_unit, tag_unit=sp.tag_unit)


def trim_tree(g: CallGraph, kept: Set[int]) -> None:
    """Keep only ``kept`` of ``g``'s nodes, reconnecting the tree (pprof's ``TrimTree``).

    Modifies ``g``: ``g.nodes`` keeps its order; see the module doc for the edges.
    """
    old = g.nodes
    g.nodes = []
    for cur in old:
        if cur in kept:
            g.nodes.append(cur)
            continue
        ins = g.in_edges.get(cur, {})
        outs = list(g.out_edges.get(cur, {}).values())
        if not ins:  # a root: its children become roots
            for e in outs:
                g.in_edges[e.dest].pop(cur, None)
            continue
        parent = next(iter(ins.values())).src
        parent_inline = g.out_edges[parent][cur].inline
        del g.out_edges[parent][cur]
        for e in outs:
            child = e.dest
            g.in_edges[child].pop(cur, None)
            g.in_edges[child][parent] = e
            g.out_edges[parent][child] = e
            e.src = parent
            e.residual = True
            e.inline = parent_inline and e.inline
    remove_redundant_edges(g)


def trimmed_call_tree(sp: StackPaths, limits: GraphLimits) -> TrimmedGraph:
    """Return the call tree of ``sp`` (graph node paths) trimmed as pprof trims it."""
    tsp = tree_paths(sp)
    g = _drop_negative(build_graph(tsp), limits)
    total_value = sum(g.flat.get(n, 0) for n in g.nodes)
    node_cutoff = abs(int(total_value * limits.nodefraction))
    edge_cutoff = abs(int(total_value * limits.edgefraction))
    dropped_nodes = 0
    if node_cutoff > 0:
        kept = {n for n in g.nodes if abs(g.cum.get(n, 0)) >= node_cutoff}
        if len(kept) != len(g.nodes):
            dropped_nodes = len(g.nodes) - len(kept)
            trim_tree(g, kept)
    orig_count = len(g.nodes)
    sort_nodes(g, limits.cum, limits.visual)
    if limits.nodecount > 0:
        _trim_tags(g, node_cutoff)
        _trim_edges(g, edge_cutoff)
        top = _select_top(g, limits.nodecount, limits.visual)
        if len(top) != len(g.nodes):
            trim_tree(g, top)
            sort_nodes(g, limits.cum, limits.visual)
    _trim_tags(g, node_cutoff)
    dropped_edges = _trim_edges(g, edge_cutoff)
    if limits.visual:
        remove_redundant_edges(g)
    return TrimmedGraph(g, orig_count, dropped_nodes, dropped_edges)

