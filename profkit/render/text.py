"""Text renderers: ``render_top`` prints a TopTable exactly as ``go tool pprof -top``.

Header lines (File, Build ID, comments, Type, Time, Duration, Active filters,
"Showing nodes accounting for ...", "Dropped N nodes (cum <= X)", "Showing top N
nodes out of M") then the flat/flat%/sum%/cum/cum% columns. Values use pprof's
unit choice: the smallest shown value's unit, promoted while it stays >= 0.01 of
the largest (``1.20s``, ``10ms``, ``5.50MB``); counts print as integers. Names and
header lines from the profile pass through ``term_safe`` (control characters escaped).
"""

from __future__ import annotations

import datetime
import posixpath
from typing import List

from profkit.analysis.measurement import label, percentage, scale, scaled_label
from profkit.render.termsafe import term_safe
from profkit.report import Report
from profkit.views.top import TopTable

__all__ = ["format_time", "output_unit", "scaled_value", "render_top", "render_top_report", "top_labels"]


def scaled_value(t: TopTable, v: int, unit: str) -> str:
    """Return value ``v`` as pprof's ``formatValue`` prints it (``divide_by`` applied)."""
    if t.ratio > 0 and t.ratio != 1:
        v = int(float(v) * t.ratio)
    return scaled_label(v, t.sample_unit, unit)


def output_unit(t: TopTable) -> str:
    """Return the unit pprof would print ``t``'s values in (``selectOutputUnit``)."""
    if t.unit != "minimum":
        return t.unit
    min_value = 0
    for r in t.rows:
        v = abs(r.flat) or abs(r.cum)
        if v > 0 and (min_value == 0 or v < min_value):
            min_value = v
    max_value = t.total
    if not t.rows:
        return "minimum"
    if min_value == 0:
        min_value = max_value
    if t.ratio > 0 and t.ratio != 1:
        min_value, max_value = int(float(min_value) * t.ratio), int(float(max_value) * t.ratio)
    _, min_unit = scale(min_value, t.sample_unit, "minimum")
    _, max_unit = scale(max_value, t.sample_unit, "minimum")
    unit = min_unit
    if min_unit != max_unit and min_value * 100 < max_value:
        _, unit = scale(100 * min_value, t.sample_unit, "minimum")
    return unit or t.sample_unit


def format_time(time_nanos: int) -> str:
    """Return ``Jan 2, 2006 at 3:04pm (MST)`` in local time, as pprof prints it."""
    dt = datetime.datetime.fromtimestamp(time_nanos / 1e9).astimezone()
    hour = dt.hour % 12 or 12
    ampm = "am" if dt.hour < 12 else "pm"
    return f"{dt:%b} {dt.day}, {dt.year} at {hour}:{dt.minute:02d}{ampm} ({dt.tzname()})"


def top_labels(t: TopTable, unit: str) -> List[str]:
    """Return the header lines pprof prints above the top table."""

    def fmt(v: int) -> str:
        return scaled_value(t, v, unit)

    out: List[str] = []
    if t.file:
        out.append("File: " + posixpath.basename(t.file))
    if t.build_id:
        out.append("Build ID: " + t.build_id)
    out.extend(c for c in t.comments if not c.startswith("#"))
    out.append("Type: " + t.sample_type)
    if t.time_nanos:
        out.append("Time: " + format_time(t.time_nanos))
    if t.duration_nanos:
        total_ns, total_unit = scale(t.total, t.sample_unit, "nanoseconds")
        ratio = ""
        if total_unit == "ns" and total_ns != 0:
            ratio = "(" + percentage(int(total_ns), t.duration_nanos) + ")"
        out.append(
            f"Duration: {label(t.duration_nanos, 'nanoseconds')}, "
            f"Total samples = {fmt(t.total)} {ratio}"
        )
    if t.active_filters:
        out.append("Active filters:")
        out.extend("   " + (f[:80] + "…" if len(f) > 80 else f) for f in t.active_filters)
    out.append(
        f"Showing nodes accounting for {fmt(t.shown_flat)}, "
        f"{percentage(t.shown_flat, t.total).strip()} of {fmt(t.total)} total"
    )
    if t.total != 0:
        if t.dropped_nodes > 0:
            noun = "nodes" if t.dropped_nodes > 1 else "node"
            out.append(f"Dropped {t.dropped_nodes} {noun} (cum <= {fmt(t.dropped_cutoff)})")
        if 0 < t.node_count < t.orig_count:
            out.append(f"Showing top {t.node_count} nodes out of {t.orig_count}")
    return [term_safe(line) for line in out]  # file names, comments, types come from the profile


def render_top(t: TopTable) -> str:
    """Return ``t`` as ``go tool pprof -top`` prints it (ends with a newline)."""
    unit = output_unit(t)
    lines = top_labels(t, unit)
    lines.append(f"{'flat':>10} {'flat':>5}% {'sum':>5}% {'cum':>10} {'cum':>5}%")
    running = 0
    for r in t.rows:
        running += r.flat
        inl = f" ({r.inline})" if r.inline else ""
        lines.append(
            f"{scaled_value(t, r.flat, unit):>10} {percentage(r.flat, t.total)} "
            f"{percentage(running, t.total)} {scaled_value(t, r.cum, unit):>10} "
            f"{percentage(r.cum, t.total)}  {term_safe(r.name)}{inl}"
        )
    return "\n".join(lines) + "\n"


def render_top_report(report: Report) -> str:
    """Return the top table of a built report as ``go tool pprof -top`` prints it."""
    from profkit.views.top import top_from_report

    return render_top(top_from_report(report))
