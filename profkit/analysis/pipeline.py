"""Profile-level filtering: the profile ``-o FILE`` and proto outputs write.

``profile_of(p, t)`` turns a StackTable derived from ``from_profile(p)`` back into
a Profile: the table's samples (values, labels), each location's lines cut to the
table's (a subsequence of the original's: hide/show/show_from/prune_from and the
profile's own drop_frames only remove lines), and the table's new location ids,
pprof's tagroot/tagleaf pseudo frames, as new locations without a mapping whose
one line names a new function (``addLabelNodes``: the label values as its name,
the key as its file; function ids after the profile's largest, in location id
order). This is how pprof's ``-proto`` output comes out of its driver: every
filter that selects samples, frames or labels is applied (tagroot/tagleaf,
focus/ignore/hide/show/show_from, tagfocus/tagignore, tagshow/taghide,
prune_from); aggregation (granularity, ``noinlines``) is not, as pprof forces
address granularity with inlines for ``-proto``. ``divide_by`` is the renderer's
(``profkit.render.proto``).

``filter_profile`` / ``apply`` filter a Profile directly (tests, library users).
Note that pprof computes report totals *before* filtering; ``profkit.views.top``
therefore takes the unfiltered profile and applies the filters itself. Inputs are
never modified; a bad regex raises InputError.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Dict, List, Optional, Tuple

from profkit.analysis.aggregate import aggregate
from profkit.analysis.filter import filter_table
from profkit.analysis.names import display_name
from profkit.analysis.stacks import LineInfo, StackTable, from_profile
from profkit.model.profile import Function, Line, Location, Profile, Sample
from profkit.options import ViewOptions

__all__ = ["apply", "filter_profile", "profile_of"]


def _info(ln: Line) -> LineInfo:
    fn = ln.function
    return (display_name(fn.name, fn.system_name), fn.filename, ln.line, fn.start_line)


def _cut(loc: Location, want: Tuple[LineInfo, ...]) -> None:
    """Keep only the lines of ``loc`` (a copy) that ``want`` names, in order."""
    if len(want) == len(loc.lines):
        return
    kept: List[Line] = []
    j = 0
    for ln in loc.lines:
        if j < len(want) and _info(ln) == want[j]:
            kept.append(ln)
            j += 1
    loc.lines = kept


def _copy_labels(d: Optional[Dict[str, List]]) -> Dict[str, List]:
    return {} if d is None else {k: list(v) for k, v in d.items()}


def profile_of(p: Profile, t: StackTable) -> Profile:
    """Return the Profile of table ``t``, derived from ``from_profile(p)`` (module doc).

    ``t`` must keep labels for the profile to keep them. ``p`` is not modified and
    shares nothing mutable with the result.
    """
    out = replace(p, samples=[]).copy()  # the samples are t's, built below
    by_id: Dict[int, Location] = {}
    locations: List[Location] = []
    for loc in out.locations:
        want = t.loc_lines.get(loc.id)
        if want is not None:
            _cut(loc, want)
        by_id[loc.id] = loc
        locations.append(loc)
    functions = out.functions
    next_fid = max((f.id for f in functions), default=0) + 1
    for lid in sorted(set(t.loc_lines) - set(by_id)):  # tagroot/tagleaf pseudo frames
        next_fid += 1
        if not t.loc_lines[lid]:  # its line hidden (-hide, -show): in no sample
            continue
        name, key, _line, _start = t.loc_lines[lid][0]
        fn = Function(next_fid - 1, name, filename=key)
        functions.append(fn)
        by_id[lid] = Location(lid, None, 0, [Line(fn, 0)])
        locations.append(by_id[lid])
    samples: List[Sample] = []
    for i, (stack, values) in enumerate(zip(t.stacks, t.values)):
        samples.append(Sample(
            [by_id[lid] for lid in stack], list(values),
            _copy_labels(t.labels[i] if t.labels is not None else None),
            _copy_labels(t.num_labels[i] if t.num_labels is not None else None),
            _copy_labels(t.num_units[i] if t.num_units is not None else None),
        ))
    out.samples, out.locations = samples, locations
    return out


def filter_profile(p: Profile, options: ViewOptions) -> Profile:
    """Return a copy of ``p`` with every filter of ``options`` applied (``filter_table``)."""
    return profile_of(p, filter_table(from_profile(p, with_labels=True), options))


def apply(profile: Profile, options: ViewOptions) -> Profile:
    """Return ``profile`` filtered by ``options`` and aggregated to its granularity."""
    return aggregate(filter_profile(profile, options), options.granularity)
