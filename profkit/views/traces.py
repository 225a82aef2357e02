"""``traces``: every sample of a built report, as ``go tool pprof -traces`` lists them.

Semantics follow pprof (``internal/report.printTraces``):

* samples in profile order, each with the value of the report's sample index, its
  string labels and numeric labels, and its stack leaf first, one row per line
  of each location (an inlined line is marked ``inline``, the location's last
  line is not);
* rows are named as the report's nodes at its granularity
  (``views.nodes.printable_name``: a function name by default);
* a sample whose stack is empty is left out; with ``mean``, a value is divided
  by the sample's count (the first value), as pprof's ``SampleMeanDivisor``;
* the unit of a numeric label is the profile-wide unit pprof infers
  (``num_label_units``): the first unit recorded for the key, else ``bytes`` for
  ``request``/``alignment``, else the key itself.

``traces_from_report`` is linear in samples plus frames; names are computed once
per location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

from profkit.analysis.stacks import StackTable
from profkit.errors import ProfileFormatError
from profkit.options import ViewOptions
from profkit.report import Report
from profkit.report.driver import go_div
from profkit.views.nodes import assign_nodes, printable_name
from profkit.views.paths import clean_path

__all__ = ["Trace", "TracesView", "num_label_units", "traces_from_report"]

#: (row name, inlined?) per line of a location, innermost first
Frames = Tuple[Tuple[str, bool], ...]


@dataclass
class Trace:
    """One sample: its value, labels and stack (leaf first)."""

    value: int
    frames: Frames
    labels: Dict[str, List[str]] = field(default_factory=dict)
    num_labels: Dict[str, List[int]] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict."""
        return {
            "value": self.value,
            "frames": [{"name": n, "inline": i} for n, i in self.frames],
            "labels": self.labels,
            "num_labels": self.num_labels,
        }


@dataclass
class TracesView:
    """The traces report: the samples plus what pprof prints above them.

    ``samples`` holds (value, location ids leaf first, sample index into
    ``table``) per shown sample; ``frames_of`` the rows of each location.
    """

    samples: List[Tuple[int, Sequence[int], int]]
    frames_of: Dict[int, Frames]
    sample_type: str
    sample_unit: str
    total: int
    num_units: Dict[str, str]
    table: StackTable
    options: ViewOptions = field(default_factory=ViewOptions)

    def traces(self) -> List[Trace]:
        """Return the samples as Trace values (stacks flattened to rows)."""
        t, frames_of = self.table, self.frames_of
        out: List[Trace] = []
        for value, stack, i in self.samples:
            try:
                frames = tuple(f for lid in stack for f in frames_of[lid])
            except KeyError:
                raise ProfileFormatError("malformed profile: sample has nil location") from None
            out.append(Trace(
                value, frames,
                t.labels[i] if t.labels is not None else {},
                t.num_labels[i] if t.num_labels is not None else {},
            ))
        return out

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (values in the sample unit)."""
        return {
            "sample_type": self.sample_type,
            "unit": self.sample_unit,
            "total": self.total,
            "num_label_units": self.num_units,
            "traces": [t.to_dict() for t in self.traces()],
        }


def num_label_units(t: StackTable) -> Dict[str, str]:
    """Return pprof's unit per numeric label key over every sample of ``t``."""
    units: Dict[str, str] = {}
    keys: Dict[str, None] = {}
    for nums, unit_lists in zip(t.num_labels or (), t.num_units or [{}] * len(t.stacks)):
        for key in nums:
            keys[key] = None
            if key not in units:
                for u in unit_lists.get(key, ()):
                    if u:
                        units[key] = u
                        break
    for key in keys:
        if key not in units:
            units[key] = "bytes" if key in ("request", "alignment") else key
    return units


def location_frames(t: StackTable, granularity: str) -> Dict[int, Frames]:
    """Return location id -> (row name, inlined?) per line, innermost first.

    File names are the profile's, only cleaned: pprof's ``printTraces`` does not trim
    them (``-trim_path`` and ``/proc/self/cwd`` apply to graph reports).
    """
    loc_nodes, keys = assign_nodes(t, granularity, clean_path)
    names = [printable_name(k) for k in keys]
    out: Dict[int, Frames] = {}
    for lid, nodes in loc_nodes.items():
        last = len(nodes) - 1
        out[lid] = tuple((names[n], i != last) for i, n in enumerate(nodes))
    return out


def traces_from_report(r: Report) -> TracesView:
    """Return every sample of ``r``'s filtered table (see module doc).

    Location ids are checked where stacks are walked (``traces()``, the text
    renderer): a sample naming a location the profile lacks is a ProfileFormatError.
    """
    t = r.table
    si = r.sample_index
    frames_of = location_frames(t, r.request.options.granularity)
    mi = r.mean_index
    if mi is None:
        samples = [
            (vals[si], stack, i)
            for i, (stack, vals) in enumerate(zip(t.stacks, t.values)) if stack
        ]
    else:  # pprof's -mean: each sample's value over its count
        samples = [
            (go_div(vals[si], vals[mi]) if vals[mi] else vals[si], stack, i)
            for i, (stack, vals) in enumerate(zip(t.stacks, t.values)) if stack
        ]
    units_table = r.unfiltered if r.unfiltered.num_labels is not None else t
    st = r.sample_type
    return TracesView(
        samples, frames_of, st.type, st.unit, r.total, num_label_units(units_table), t,
        r.request.options,
    )
