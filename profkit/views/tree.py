"""``tree`` and ``peek``: pprof's ``-tree`` / ``-peek REGEX`` reports as plain data.

Both list graph nodes in report order (flat, or cum with ``cum``), each with its
callers (edges in) and callees (edges out), heaviest first. ``tree`` trims the graph
as pprof does (nodecount, nodefraction, edgefraction; ``trim=False`` turns it off);
``peek`` never trims (pprof sets ``trim=false`` for it) and keeps only the nodes
whose printable name matches the pattern; no match is an error, as in pprof.

The header (File, Type, ..., "Showing nodes accounting for ...") is ``top``'s: a
``TopTable`` over the graph's nodes, so ``render.text``'s unit choice and header
lines serve both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from profkit.analysis.filter import compile_regex
from profkit.errors import CommandError, InputError
from profkit.report import Report
from profkit.views.graph import CallGraph, Edge, StackPaths, stack_paths
from profkit.views.graph_mean import shown_cum, shown_flat
from profkit.views.graph_trim import GraphLimits, TrimmedGraph, trimmed_graph
from profkit.views.paths import graph_file_namer
from profkit.views.top import TopRow, TopTable

__all__ = ["TreeEdge", "TreeEntry", "TreeReport", "dot_graph_from_report", "graph_limits",
           "header_table",
           "peek_from_report", "tree_from_report"]


@dataclass
class TreeEdge:
    """A caller or callee line: the other node, the edge weight, its marks."""

    name: str
    weight: int
    inline: bool
    residual: bool


@dataclass
class TreeEntry:
    """A node's block: its values, its callers and callees (heaviest first)."""

    name: str
    flat: int
    cum: int
    callers: List[TreeEdge]
    callees: List[TreeEdge]


@dataclass
class TreeReport:
    """The tree (or peek) report: header table, the node blocks, the trimmed graph.

    For peek, the graph holds only the edges of the matching nodes.
    """

    header: TopTable
    entries: List[TreeEntry]
    trimmed: TrimmedGraph
    pattern: str = ""

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (values in the sample unit)."""
        h = self.header
        total = h.total

        def pct(v: int) -> float:
            return abs(v / total) * 100 if total else 0.0

        def edge(e: TreeEdge, cum: int) -> Dict[str, object]:
            return {"name": e.name, "weight": e.weight,
                    "pct": abs(e.weight / cum) * 100 if cum else 0.0,
                    "inline": e.inline, "residual": e.residual}

        running = 0
        nodes = []
        for en in self.entries:
            running += en.flat
            nodes.append({
                "name": en.name, "flat": en.flat, "cum": en.cum, "flat_pct": pct(en.flat),
                "sum_pct": pct(running), "cum_pct": pct(en.cum),
                "callers": [edge(e, en.cum) for e in en.callers],
                "callees": [edge(e, en.cum) for e in en.callees],
            })
        return {
            "sample_type": h.sample_type, "unit": h.sample_unit, "total": total,
            "shown_flat": h.shown_flat, "dropped_nodes": h.dropped_nodes,
            "nodes_shown": h.node_count, "nodes_total": h.orig_count,
            "diff": h.is_diff, "active_filters": h.active_filters,
            "pattern": self.pattern, "entries": nodes,
        }


def graph_limits(report: Report, *, visual: bool, trim: Optional[bool] = None) -> GraphLimits:
    """Return the trimming limits ``report``'s options ask for (pprof's defaults).

    """
    o = report.request.options
    if trim is None:
        trim = o.trim
    if not trim:
        return GraphLimits(0, 0.0, 0.0, o.cum, visual, o.drop_negative)
    return GraphLimits(o.nodecount, o.nodefraction, o.edgefraction, o.cum, visual,
                       o.drop_negative)


def header_table(report: Report, tg: TrimmedGraph, limits: GraphLimits) -> TopTable:
    """Return a TopTable over the graph's nodes: what pprof's header lines are computed from."""
    g, total = tg.graph, report.total
    rows = [TopRow(g.names[n], shown_flat(tg, n), shown_cum(tg, n), 0.0, 0.0, 0.0)
            for n in g.nodes]
    o, ft = report.request.options, report.table
    st = report.sample_type
    return TopTable(
        rows=rows, sample_type=st.type, sample_unit=st.unit, total=total,
        shown_flat=sum(r.flat for r in rows), dropped_nodes=tg.dropped_nodes,
        dropped_cutoff=abs(int(total * limits.nodefraction)), node_count=len(rows),
        orig_count=tg.orig_count, file=ft.main_file, build_id=ft.main_build_id,
        comments=list(ft.comments), time_nanos=ft.time_nanos,
        duration_nanos=ft.duration_nanos, active_filters=o.active_filters(),
        is_diff=report.is_diff, unit=o.unit, ratio=o.ratio,
    )


def _add_divisors(report: Report, tg: TrimmedGraph, sp: StackPaths, *,
                  with_labels: bool = False) -> None:
    """With ``mean``, attach the divisors of the shown values to ``tg`` (views.graph_mean)."""
    if report.mean_index is None:
        return
    from profkit.views.graph_mean import divisors

    o = report.request.options
    tg.divisors = divisors(tg, sp, report.table, report.mean_index, o.granularity,
                           with_labels=with_labels, call_tree=with_labels and o.call_tree)


def _edges(g: CallGraph, edges: List[Edge], callers: bool) -> List[TreeEdge]:
    return [TreeEdge(g.names[e.src if callers else e.dest], e.weight, e.inline, e.residual)
            for e in g.sorted_edges(edges)]


def _tree(report: Report, limits: GraphLimits, rx: Optional[Any], pattern: str
          ) -> TreeReport:
    o = report.request.options
    sp = stack_paths(report.table, report.sample_index, o.granularity,
                     divisor_index=report.mean_index,
                     file_name=graph_file_namer(o.trim_path, o.source_path))
    tg = trimmed_graph(sp, limits, None if rx is None else rx.search)
    _add_divisors(report, tg, sp)
    g = tg.graph
    entries = []
    for n in g.nodes:
        name = g.names[n]
        if rx is not None and not rx.search(name):
            continue
        entries.append(TreeEntry(
            name, shown_flat(tg, n), shown_cum(tg, n),
            _edges(g, list(g.in_edges.get(n, {}).values()), True),
            _edges(g, list(g.out_edges.get(n, {}).values()), False),
        ))
    if rx is not None and not entries:
        raise InputError(f"no matches found for regexp: {pattern}")
    return TreeReport(header_table(report, tg, limits), entries, tg, pattern)


def dot_graph_from_report(report: Report) -> Tuple[TrimmedGraph, TopTable]:
    """Return the graph ``dot`` draws (entropy order, labels as nodelets) and its header.

    With ``call_tree``, the graph is pprof's call tree (``views.call_tree``); other
    reports ignore that option, as pprof does.
    """
    limits = graph_limits(report, visual=True)
    o = report.request.options
    sp = stack_paths(report.table, report.sample_index, o.granularity,
                     with_labels=True, divisor_index=report.mean_index, tag_unit=o.unit,
                     file_name=graph_file_namer(o.trim_path, o.source_path))
    if report.request.options.call_tree:
        from profkit.views.call_tree import trimmed_call_tree

        tg = trimmed_call_tree(sp, limits)
    else:
        tg = trimmed_graph(sp, limits)
    _add_divisors(report, tg, sp, with_labels=True)
    return tg, header_table(report, tg, limits)


def tree_from_report(report: Report) -> TreeReport:
    """Return the ``tree`` report of a built report (trimmed as its options say)."""
    return _tree(report, graph_limits(report, visual=False), None, "")


def peek_from_report(report: Report) -> TreeReport:
    """Return the ``peek`` report: untrimmed, nodes matching ``request.pattern`` only.

    Raises InputError for a pattern that does not compile or when nothing matches
    (the CLI exits 1, the viewer answers 400, as pprof's web UI does), CommandError
    (exit 2) when there is no pattern.
    """
    pattern = report.request.pattern
    rx = compile_regex("argument", pattern)
    if rx is None:
        raise CommandError("peek needs a regular expression (profkit peek REGEX FILE)", 2)
    return _tree(report, graph_limits(report, visual=False, trim=False), rx, pattern)
