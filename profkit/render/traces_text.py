"""``traces`` as ``go tool pprof -traces`` prints it, and the header lines it shares.

``profile_labels`` is pprof's ``ProfileLabels``: File, Build ID, the comments not
starting with ``#``, Type, Time, Duration with the total. Then, per sample, a
separator line, the string labels and the numeric labels (``%10s:  v1 v2``, each
group sorted as text), and the stack, the value (pprof's ``minimum`` unit) on the
leaf row only. Names pass through ``term_safe``; JSON keeps them as they are.
"""

from __future__ import annotations

import json
import posixpath
from itertools import islice
from typing import Dict, List, Optional

from profkit.analysis.measurement import label, percentage, scale, scaled_label
from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError
from profkit.options import ViewOptions
from profkit.render.termsafe import term_safe
from profkit.render.text import format_time
from profkit.report import Report
from profkit.views.traces import TracesView, traces_from_report

__all__ = ["SEPARATOR", "format_value", "profile_labels", "render_traces", "render_traces_json"]

SEPARATOR = "-----------+-------------------------------------------------------"


def format_value(v: int, sample_unit: str, options: ViewOptions) -> str:
    """Return ``v`` as pprof's ``formatValue``: ``divide_by`` applied, in ``options.unit``."""
    ratio = 1 / (getattr(options, "divide_by", 1.0) or 1.0)
    if ratio > 0 and ratio != 1:
        v = int(float(v) * ratio)
    return scaled_label(v, sample_unit, getattr(options, "unit", "minimum") or "minimum")


def profile_labels(t: StackTable, sample_type: str, unit: str, total: int,
                   options: Optional[ViewOptions] = None) -> List[str]:
    """Return pprof's ``ProfileLabels`` lines for a report over ``t``."""
    out: List[str] = []
    if t.main_file:
        out.append("File: " + term_safe(posixpath.basename(t.main_file)))
    if t.main_build_id:
        out.append("Build ID: " + term_safe(t.main_build_id))
    out.extend(term_safe(c) for c in t.comments if not c.startswith("#"))
    if sample_type:
        out.append("Type: " + term_safe(sample_type))
    if t.time_nanos:
        out.append("Time: " + format_time(t.time_nanos))
    if t.duration_nanos:
        total_ns, total_unit = scale(total, unit, "nanoseconds")
        ratio = ""
        if total_unit == "ns" and total_ns != 0:
            ratio = "(" + percentage(int(total_ns), t.duration_nanos) + ")"
        out.append(
            f"Duration: {label(t.duration_nanos, 'nanoseconds')}, "
            f"Total samples = {format_value(total, unit, options or ViewOptions())} {ratio}"
        )
    return out


def format_traces(v: TracesView) -> str:
    """Return ``v`` as ``go tool pprof -traces`` prints it (ends with a newline).

    Each location's rows are formatted once; a sample costs a join of them.
    """
    unit = v.sample_unit
    options = v.options
    head = profile_labels(v.table, v.sample_type, unit, v.total, options)
    num_units = v.num_units
    pad = " " * 13
    leaf: Dict[int, str] = {}  # the location's rows, the first without its value column
    rest: Dict[int, str] = {}  # the location's rows as continuation rows
    for lid, frames in v.frames_of.items():
        rows = [term_safe(name) + (" (inline)" if inline else "") for name, inline in frames]
        rest[lid] = "".join("\n" + pad + row for row in rows)
        leaf[lid] = rows[0] + "".join("\n" + pad + row for row in rows[1:])
    values: Dict[int, str] = {}
    labels, nums = v.table.labels, v.table.num_labels
    out: List[str] = ["\n".join(head)] if head else []
    for value, stack, i in v.samples:
        out.append(SEPARATOR)
        if labels is not None and labels[i]:
            out.extend(sorted(
                f"{term_safe(k):>10}:  {' '.join(map(term_safe, vs))}"
                for k, vs in labels[i].items()
            ))
        if nums is not None and nums[i]:
            out.extend(sorted(
                f"{term_safe(k):>10}:  "
                + " ".join(label(n, num_units.get(k, k)) for n in ns)
                for k, ns in nums[i].items()
            ))
        vs = values.get(value)
        if vs is None:
            vs = values[value] = f"{format_value(value, unit, options):>10}   "
        try:
            out.append(vs + leaf[stack[0]] + "".join(map(rest.__getitem__, islice(stack, 1, None))))
        except KeyError:
            raise ProfileFormatError("malformed profile: sample has nil location") from None
    out.append(SEPARATOR)
    return "\n".join(out) + "\n"


def render_traces(report: Report) -> str:
    """Return the traces report of ``report`` as text."""
    return format_traces(traces_from_report(report))


def render_traces_json(report: Report) -> str:
    """Return the traces report of ``report`` as JSON (names as in the profile)."""
    return json.dumps(traces_from_report(report).to_dict(), indent=1) + "\n"
