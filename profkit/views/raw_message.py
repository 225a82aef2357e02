"""The ``raw`` report's fast path: the filtered Profile rebuilt from the decoded file.

When a report over one local pprof file is built on the driver's fast path (no
Profile objects), ``raw`` still needs locations with addresses, mappings and
functions. ``skeleton_profile`` takes them from the decoded message and the
samples from the report's filtered StackTable, which is valid only when the
filters merely select samples (focus/ignore/tag filters; ``selection_only``):
filters that rewrite stacks, lines or labels need the driver's Profile path.
Building this costs a fraction of parsing the file into a Profile and copying it.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Tuple

from profkit.analysis.stacks import StackTable
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType
from profkit.options import ViewOptions
from profkit.report import Report, build

__all__ = ["filtered_profile", "selection_only", "skeleton_profile", "source_message"]

#: options that select samples or only shape other reports (safe for the fast path)
_SELECTING = frozenset({
    "sample_index", "focus", "ignore", "tagfocus", "tagignore", "granularity",
    "nodecount", "nodefraction", "edgefraction", "cum",
})


def selection_only(options: ViewOptions) -> bool:
    """Whether ``options`` change nothing but which samples are kept (see module doc)."""
    default = ViewOptions()
    return all(
        name in _SELECTING or getattr(options, name) == getattr(default, name)
        for name in vars(options)
    )


def skeleton_profile(msg: Any, table: StackTable, with_samples: bool = True) -> Profile:
    """Return the Profile of decoded ``msg`` with the samples of ``table`` (its filtered
    table: same location ids), or none unless ``with_samples``. ``msg`` was validated
    when ``table`` was built from it. A location keeps as many of its outermost lines
    as ``table`` has for it: the profile's own drop_frames cut the innermost ones
    (pprof's ``Prune``), the only lines the fast path removes."""
    st = msg.string_table
    mappings: Dict[int, Mapping] = {
        m.id: Mapping(m.id, m.memory_start, m.memory_limit, m.file_offset, st[m.filename],
                      st[m.build_id], m.has_functions, m.has_filenames, m.has_line_numbers,
                      m.has_inline_frames)
        for m in msg.mapping
    }
    functions: Dict[int, Function] = {
        f.id: Function(f.id, st[f.name], st[f.system_name], st[f.filename], f.start_line)
        for f in msg.function
    }
    kept = table.loc_lines
    locations = [
        Location(loc.id, mappings.get(loc.mapping_id), loc.address,
                 [Line(functions[ln.function_id], ln.line)
                  for ln in loc.line[len(loc.line) - len(kept.get(loc.id, loc.line)):]],
                 loc.is_folded)
        for loc in msg.location
    ]
    by_id = {loc.id: loc for loc in locations}
    n = len(table.stacks)
    labels = table.labels or [{}] * n
    nums = table.num_labels or [{}] * n
    units = table.num_units or [{}] * n
    samples = [
        Sample([by_id[i] for i in stack], list(vals), lab, num, unit)
        for stack, vals, lab, num, unit in zip(table.stacks, table.values, labels, nums, units)
    ] if with_samples else []
    period_type = None
    if msg.HasField("period_type"):
        period_type = ValueType(st[msg.period_type.type], st[msg.period_type.unit])
    return Profile(
        sample_types=list(table.sample_types), samples=samples,
        mappings=list(mappings.values()), locations=locations,
        functions=list(functions.values()), time_nanos=msg.time_nanos,
        duration_nanos=msg.duration_nanos, period_type=period_type, period=msg.period,
        comments=[st[c] for c in msg.comment], default_sample_type=st[msg.default_sample_type],
    )


def source_message(report: Report) -> Any:
    """Return the decoded message of ``report``'s one local pprof file when its tables
    came from it (the fast path: no kept Profile, no bases, ``selection_only``
    options; then ``report.table`` has the message's location ids), else None."""
    if report.profile is not None:
        return None
    req = report.request
    src = req.sources[0] if len(req.sources) == 1 else None
    if not (isinstance(src, str) and os.path.isfile(src) and not req.bases
            and selection_only(req.options)):
        return None
    msg = report.unfiltered.message  # the message the report's tables were read from
    if msg is None:
        from profkit.model.codec import decode, read_bytes

        msg = decode(read_bytes(src))
    return msg if msg.sample_type and msg.string_table else None


def filtered_profile(
    report: Report, with_samples: bool = True
) -> Tuple[Profile, Report, Optional[Sequence[Sequence[int]]]]:
    """Return (the filtered Profile, the report whose tables it was built from:
    ``report`` or the same request built again, the location ids of the Profile's
    samples when known: then they are the report table's, and ``with_samples=False``
    leaves the Profile's samples out).

    For reports that need addresses and mappings (raw, callgrind). Taken from the
    report when the driver kept it; rebuilt from the decoded file
    when the report came from the fast path and its filters only select samples
    (``views.raw_message``); otherwise the report is built again with its Profile
    (which would fetch a URL input again: edges with URL inputs set
    ``want_profile``, as ``profkit raw`` and ``profkit callgrind`` do).
    """
    if report.profile is not None:
        return report.profile, report, None
    msg = source_message(report)
    if msg is not None:
        skeleton = skeleton_profile(msg, report.table, with_samples)
        return skeleton, report, report.table.stacks
    req = report.request
    again = build(req.with_changes(want_profile=True))
    assert again.profile is not None
    return again.profile, again, None
