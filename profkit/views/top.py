"""``top``: pprof's ``-top`` report (flat, flat%, sum%, cum, cum%) as plain data.

Semantics follow ``go tool pprof`` (``internal/graph``, ``internal/report``):

* the total (the 100 % denominator) is computed before filtering: the sum of
  |value|, or of the diff-base samples' |value| when the profile is a diff;
* flat goes to the leaf frame: the innermost line of a sample's first location;
  cum counts every node once per sample, however often it recurs in the stack;
* nodes with |cum| below ``nodefraction`` x (sum of flat) are dropped ("Dropped N
  nodes (cum <= X)"), the rest sorted by |flat| (or |cum|), name; ``nodecount``
  keeps the first N;
* a node reached only through inlined calls is marked ``(inline)``, through both
  ``(partial-inline)``.

``top_from_report`` reads a built report (``profkit.report.build``: filters applied,
total computed before them); ``top(profile, options)`` builds one for a profile.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from profkit.analysis import kernels
from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError
from profkit.model.profile import Profile
from profkit.options import ViewOptions
from profkit.report import Report, ReportRequest, build
from profkit.report.driver import go_div
from profkit.views.nodes import assign_nodes, printable_name
from profkit.views.paths import graph_file_namer

__all__ = ["TopRow", "TopTable", "top", "top_from_report"]



@dataclass
class TopRow:
    """One row: a function (or file/line, per granularity) and its values."""

    name: str
    flat: int
    cum: int
    flat_pct: float
    sum_pct: float
    cum_pct: float
    inline: str = ""  # "", "inline" or "partial-inline"


@dataclass
class TopTable:
    """The top report: rows plus what pprof prints above them."""

    rows: List[TopRow]
    sample_type: str
    sample_unit: str
    total: int
    shown_flat: int
    dropped_nodes: int
    dropped_cutoff: int
    node_count: int
    orig_count: int
    file: str = ""
    build_id: str = ""
    comments: List[str] = field(default_factory=list)
    time_nanos: int = 0
    duration_nanos: int = 0
    active_filters: List[str] = field(default_factory=list)
    is_diff: bool = False
    unit: str = "minimum"  # the unit asked for (pprof's -unit); "minimum" = pprof's choice
    ratio: float = 1.0  # pprof's 1/divide_by, applied when values are printed

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (values in the sample unit, percentages as floats)."""
        return {
            "sample_type": self.sample_type,
            "unit": self.sample_unit,
            "total": self.total,
            "shown_flat": self.shown_flat,
            "dropped_nodes": self.dropped_nodes,
            "nodes": self.orig_count,
            "time_nanos": self.time_nanos,
            "duration_nanos": self.duration_nanos,
            "diff": self.is_diff,
            "active_filters": self.active_filters,
            "rows": [r.__dict__ for r in self.rows],
        }


def top(profile: Profile, options: Optional[ViewOptions] = None) -> TopTable:
    """Return the top table of ``profile`` (unfiltered; not modified) under ``options``.

    Raises InputError for an unknown sample index or a bad filter.
    """
    return top_from_report(build(ReportRequest([profile], options=options or ViewOptions())))


def top_from_report(r: Report) -> TopTable:
    """Compute the top table of a built report (its filtered samples, its total)."""
    options = r.request.options
    ft, si, total = r.table, r.sample_index, r.total
    loc_nodes, keys = assign_nodes(ft, options.granularity,
                                   graph_file_namer(options.trim_path, options.source_path))
    flat, cum = _flat_cum(ft, si, loc_nodes, len(keys))
    shown_f, shown_c = _mean_values(r, loc_nodes, len(keys), flat, cum)  # pprof's FlatValue/CumValue
    names = [printable_name(k) for k in keys]
    graph = [n for n in range(len(keys)) if (flat.get(n, 0) or cum.get(n, 0))
             and not (options.drop_negative and _negative(flat.get(n, 0), cum.get(n, 0)))]
    total_value = sum(flat.get(n, 0) for n in graph)
    trim = options.trim  # pprof: -trim=false means no node count or fractions
    node_cutoff = abs(int(total_value * options.nodefraction)) if trim else 0
    dropped = 0
    if node_cutoff > 0:
        kept = [n for n in graph if abs(cum.get(n, 0)) >= node_cutoff]
        dropped = len(graph) - len(kept)
        graph = kept
    orig_count = len(graph)
    if options.cum:
        graph.sort(key=lambda n: (-abs(cum.get(n, 0)), names[n], -abs(flat.get(n, 0)), keys[n]))
    else:
        graph.sort(key=lambda n: (-abs(flat.get(n, 0)), names[n], -abs(cum.get(n, 0)), keys[n]))
    if options.nodecount > 0 and trim:
        graph = graph[: options.nodecount]
    inline = _inline_labels(
        ft, si, loc_nodes, set(graph),
        abs(int(total_value * options.edgefraction)) if trim else 0,
    )
    rows: List[TopRow] = []
    running = 0
    for n in graph:
        f, c = shown_f.get(n, 0), shown_c.get(n, 0)
        running += f
        rows.append(TopRow(
            names[n], f, c, _pct(f, total), _pct(running, total), _pct(c, total),
            inline.get(n, ""),
        ))
    st = r.sample_type
    return TopTable(
        rows=rows, sample_type=st.type, sample_unit=st.unit, total=total,
        shown_flat=running, dropped_nodes=dropped,
        dropped_cutoff=abs(int(total * options.nodefraction)) if trim else 0,
        node_count=len(graph),
        orig_count=orig_count, file=ft.main_file, build_id=ft.main_build_id,
        comments=list(ft.comments), time_nanos=ft.time_nanos,
        duration_nanos=ft.duration_nanos, active_filters=options.active_filters(),
        is_diff=r.is_diff, unit=options.unit, ratio=options.ratio,
    )


def _negative(flat: int, cum: int) -> bool:
    """pprof's ``isNegative``: what ``drop_negative`` hides."""
    return flat < 0 or (flat == 0 and cum < 0)


def _mean_values(
    r: Report, loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int, flat: Dict[int, int],
    cum: Dict[int, int],
) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Return the values shown: with ``mean``, each node's sum / its sum of the count."""
    if r.mean_index is None:
        return flat, cum
    flat_d, cum_d = _flat_cum(r.table, r.mean_index, loc_nodes, n_nodes)
    return (
        {n: go_div(v, flat_d[n]) if flat_d.get(n) else v for n, v in flat.items()},
        {n: go_div(v, cum_d[n]) if cum_d.get(n) else v for n, v in cum.items()},
    )


def _pct(v: int, total: int) -> float:
    return abs(v / total) * 100 if total else 0.0


def _lookup(loc_nodes: Dict[int, Tuple[int, ...]], missing: object) -> Callable[[int], Any]:
    """Return a fast location id -> nodes function (a list when ids are dense)."""
    single = all(len(ns) == 1 for ns in loc_nodes.values())
    top_id = max(loc_nodes, default=0)
    if top_id > 4 * len(loc_nodes) + 4096:
        table = {lid: (ns[0] if single else ns) for lid, ns in loc_nodes.items()}
        return lambda lid: table.get(lid, missing)
    dense: List[Any] = [missing] * (top_id + 1)
    for lid, ns in loc_nodes.items():
        dense[lid] = ns[0] if single else ns
    return dense.__getitem__


def _flat_cum(
    t: StackTable, si: int, loc_nodes: Dict[int, Tuple[int, ...]], n_nodes: int
) -> Tuple[Dict[int, int], Dict[int, int]]:
    """Flat per leaf node; cum once per sample per node (nodes ``0..n_nodes-1``).

    Samples are grouped by value, and each group counts node occurrences with
    ``Counter.update`` (a C loop), so no per-sample node set is kept alive; the
    C kernel (``analysis.kernels.flat_cum``) does the same per frame when built.
    A location id the table does not know is a ProfileFormatError.
    """
    fast = kernels.flat_cum(t.stacks, t.values, si, loc_nodes, n_nodes)
    if fast is not None:
        return fast
    flat: Dict[int, int] = defaultdict(int)
    counts: Dict[int, Counter[int]] = defaultdict(Counter)
    single = all(len(ns) == 1 for ns in loc_nodes.values())
    try:
        if single:
            one = _lookup(loc_nodes, -1)
            for stack, vals in zip(t.stacks, t.values):
                v = vals[si]
                if not v or not stack:
                    continue
                nodes = set(map(one, stack))
                if -1 in nodes:
                    raise IndexError
                flat[one(stack[0])] += v
                counts[v].update(nodes)
        else:
            get = _lookup(loc_nodes, None)
            for stack, vals in zip(t.stacks, t.values):
                v = vals[si]
                if not v or not stack:
                    continue
                nodes = set(chain.from_iterable(map(get, stack)))
                flat[get(stack[0])[0]] += v
                counts[v].update(nodes)
    except (IndexError, TypeError, OverflowError):
        raise ProfileFormatError("malformed profile: sample has nil location") from None
    cum: Dict[int, int] = defaultdict(int)
    for v, counter in counts.items():
        for n, count in counter.items():
            cum[n] += count * v
    return flat, cum


def _inline_labels(
    t: StackTable, si: int, loc_nodes: Dict[int, Tuple[int, ...]], shown: Set[int],
    edge_cutoff: int,
) -> Dict[int, str]:
    """Return "inline"/"partial-inline" for shown nodes reached through inlined calls."""
    candidates: Set[int] = set()
    for ns in loc_nodes.values():
        if len(ns) > 1:
            candidates.update(n for n in ns[:-1] if n in shown)
    if not candidates:
        return {}
    touching = {lid for lid, ns in loc_nodes.items() if candidates.intersection(ns)}
    edges: Dict[Tuple[int, int], List[int]] = {}  # (parent, node) -> [weight, all inline]
    for stack, vals in zip(t.stacks, t.values):
        w = vals[si]
        if not w or touching.isdisjoint(stack):
            continue
        seen: Set[Tuple[int, int]] = set()
        parent = -1
        for lid in reversed(stack):
            ns = loc_nodes[lid]
            last = len(ns) - 1
            for ni in range(last, -1, -1):
                n = ns[ni]
                if n not in shown:
                    continue
                pair = (parent, n)
                if parent >= 0 and n != parent and pair not in seen:
                    seen.add(pair)
                    if n in candidates:
                        e = edges.get(pair)
                        if e is None:
                            edges[pair] = [w, ni != last]
                        else:
                            e[0] += w
                            if ni == last:
                                e[1] = False
                parent = n
    inline_in: Dict[int, Set[bool]] = defaultdict(set)
    for (_p, n), (weight, is_inline) in edges.items():
        if abs(weight) >= edge_cutoff:
            inline_in[n].add(bool(is_inline))
    out: Dict[int, str] = {}
    for n, kinds in inline_in.items():
        if True in kinds:
            out[n] = "partial-inline" if False in kinds else "inline"
    return out
