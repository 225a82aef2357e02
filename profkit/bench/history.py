"""Trend per benchmark over a series of runs, change points, and a self-contained plotly chart.

Runs are ordered by time (the file's ``datetime``, else the autosave file name). Each run contributes
its median per benchmark. Runs from different machines (``runs.machine_id``: the
``.benchmarks/<machine-id>/`` directory, else ``machine_info.node``) never share a series: each
machine gets its own, named ``benchmark @ machine`` when there are several; ``machine=`` keeps one. Change points come from binary segmentation on that series: the split that
gives the smallest two-sided Mann-Whitney p between the two sides is kept when p <= alpha
(Bonferroni-corrected for the number of candidate splits) and the medians of the two segments differ
by at least ``threshold``; each side is then searched again. Segments hold at least ``min_segment``
runs, so a single outlier run is never a change point.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from profkit.bench import stats
from profkit.bench.runs import machine_id, ordered, run_time
from profkit.bench.samples import BenchKey, BenchRun
from profkit.errors import InputError

_SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class Point:
    """One run's median of one benchmark."""

    index: int
    time: Optional[str]
    commit: Optional[str]
    median: float


@dataclass
class ChangePoint:
    """A step before run ``index`` (``points[position]`` of its series); ``change`` = after/before - 1."""

    index: int
    position: int
    commit: Optional[str]
    time: Optional[str]
    before: float
    after: float
    change: float
    p: float


@dataclass
class Series:
    """The trend of one benchmark."""

    name: str
    unit: str
    points: List[Point]
    change_points: List[ChangePoint] = field(default_factory=list)
    machine: str = ""


def _segment(values: Sequence[float], lo: int, hi: int, alpha: float, threshold: float,
             min_segment: int, out: List[tuple]) -> None:
    best: Optional[tuple] = None
    candidates = range(lo + min_segment, hi - min_segment + 1)
    for k in candidates:
        p = stats.mann_whitney_p(values[lo:k], values[k:hi])
        if best is None or p < best[1]:
            best = (k, p)
    if best is None:
        return
    k, p = best
    p_corrected = min(1.0, p * len(candidates))
    before, after = statistics.median(values[lo:k]), statistics.median(values[k:hi])
    change = stats.relative_change(before, after)
    if p_corrected > alpha or change is None or abs(change) < threshold:
        return
    out.append((k, before, after, change, p_corrected))
    _segment(values, lo, k, alpha, threshold, min_segment, out)
    _segment(values, k, hi, alpha, threshold, min_segment, out)


def find_change_points(values: Sequence[float], *, alpha: float = 0.01, threshold: float = 0.05,
                       min_segment: int = 4) -> List[tuple]:
    """Return ``(index, before, after, change, p)`` tuples sorted by index; see the module docstring."""
    out: List[tuple] = []
    _segment(list(values), 0, len(values), alpha, threshold, min_segment, out)
    return sorted(out)


def build_history(runs: Sequence[BenchRun], *, threshold: float = 0.05, alpha: float = 0.01,
                  branch: Optional[str] = None, machine: Optional[str] = None) -> List[Series]:
    """Build one ``Series`` per benchmark and machine from runs (inputs not modified).

    Raises:
        InputError: no runs (after the branch filter), or none from ``machine``.
    """
    chosen = [r for r in ordered(runs) if branch is None or r.branch in (None, branch)]
    if not chosen:
        raise InputError(f"no runs{' on branch ' + branch if branch else ''} to build a history from")
    machines = sorted({machine_id(r) for r in chosen})
    if machine is not None:
        chosen = [r for r in chosen if machine_id(r) == machine]
        if not chosen:
            raise InputError(f"no runs from machine {machine!r}; machines: "
                             + ", ".join(repr(m) for m in machines))
        machines = [machine]
    series: Dict[Tuple[BenchKey, str], Series] = {}
    counters: Dict[str, int] = {}
    for run in chosen:
        when = run_time(run)
        host = machine_id(run)
        i = counters[host] = counters.get(host, -1) + 1  # run number on this machine
        for res in run.results:
            if res.summary is None:
                continue
            name = f"{res.name} @ {host or 'unknown machine'}" if len(machines) > 1 else res.name
            s = series.setdefault((res.key, host), Series(name, res.unit, [], machine=host))
            s.points.append(Point(i, when.isoformat() if when else None, run.commit, res.summary.median))
    for s in series.values():
        values = [p.median for p in s.points]
        for k, before, after, change, p in find_change_points(values, alpha=alpha, threshold=threshold):
            pt = s.points[k]
            s.change_points.append(ChangePoint(pt.index, k, pt.commit, pt.time, before, after, change, p))
    return [series[k] for k in sorted(series)]


def sparkline(values: Sequence[float]) -> str:
    """Return a unicode sparkline of ``values`` (flat line when constant)."""
    lo, hi = min(values), max(values)
    span = hi - lo
    return "".join(_SPARK[int((v - lo) / span * (len(_SPARK) - 1)) if span else 0] for v in values)


def render_history(history: Sequence[Series], fmt: str = "table") -> str:
    """Render the trend table (or JSON) with change points."""
    if fmt == "json":
        doc = [{"name": s.name, "unit": s.unit, "machine": s.machine, "points": [vars(p) for p in s.points],
                "change_points": [vars(c) for c in s.change_points]} for s in history]
        return json.dumps(doc, indent=2) + "\n"
    from profkit.bench.report import format_value

    lines = []
    for s in history:
        values = [p.median for p in s.points]
        first, last = values[0], values[-1]
        change = stats.relative_change(first, last)
        lines.append(f"{s.name}  [{len(values)} runs]  {format_value(first, s.unit)} -> "
                     f"{format_value(last, s.unit)}" + (f" ({change:+.1%})" if change is not None else ""))
        lines.append(f"  {sparkline(values)}")
        if not s.change_points:
            lines.append("  no change point")
        for c in s.change_points:
            where = c.commit[:12] if c.commit else f"run #{c.index}"
            lines.append(f"  change point at run #{c.index} ({where}, {c.time or 'time unknown'}): "
                         f"{format_value(c.before, s.unit)} -> {format_value(c.after, s.unit)} "
                         f"({c.change:+.1%}, p={c.p:.2g})")
    return "\n".join(lines) + "\n"


def write_chart(history: Sequence[Series], path: str) -> None:
    """Write a self-contained interactive plotly HTML chart (plotly.js inlined; opens offline)."""
    import plotly.graph_objects as go

    from profkit.model.codec import write_atomic

    fig = go.Figure()
    for s in history:
        x = [p.time or p.index for p in s.points]
        fig.add_trace(go.Scatter(
            x=x, y=[p.median for p in s.points], mode="lines+markers", name=f"{s.name} [{s.unit}]",
            text=[p.commit or "" for p in s.points],
            hovertemplate="%{y:.4g} " + s.unit + "<br>%{x}<br>commit %{text}<extra>" + s.name + "</extra>"))
        for c in s.change_points:
            fig.add_trace(go.Scatter(
                x=[x[c.position]], y=[c.after],
                mode="markers", marker={"symbol": "triangle-up" if c.change > 0 else "triangle-down",
                                        "size": 14, "color": "red" if c.change > 0 else "green"},
                name=f"change point {c.change:+.1%}", showlegend=False,
                hovertemplate=f"change point {c.change:+.1%} (p={c.p:.2g})<extra>{s.name}</extra>"))
    fig.update_layout(title="Benchmark history (median per run)", yaxis_title="median",
                      hovermode="closest", template="plotly_white")
    html = fig.to_html(include_plotlyjs=True, full_html=True)
    write_atomic(path, html.encode("utf-8"))
