"""``apply(profile, options) -> Profile``: the filters every view shares.

Applies, in pprof's order, focus/ignore/hide/show and tagfocus/tagignore
(``profkit.analysis.filter``), then aggregates to ``options.granularity``. The
sample index, node count and sort order are the views' business. Returns a new
profile; the input is unchanged. Raises InputError on a bad regex.

Note that pprof computes report totals *before* filtering; ``profkit.views.top``
therefore takes the unfiltered profile and applies the filters itself.
"""

from __future__ import annotations

from typing import List

from profkit.analysis.aggregate import aggregate
from profkit.analysis.filter import select_samples
from profkit.analysis.stacks import from_profile
from profkit.model.profile import Line, Profile, Sample
from profkit.options import ViewOptions

__all__ = ["apply", "filter_profile"]


def filter_profile(p: Profile, options: ViewOptions) -> Profile:
    """Return a copy of ``p`` with the focus/ignore/hide/show/tag filters applied."""
    table = from_profile(p)
    keep, stacks, new_lines = select_samples(table, options)
    out = p.copy()
    if keep is None:
        return out
    by_id = {loc.id: loc for loc in out.locations}
    for loc in out.locations:
        want = new_lines.get(loc.id, ())
        if len(want) == len(loc.lines):
            continue
        kept: List[Line] = []
        j = 0
        for ln, info in zip(loc.lines, table.loc_lines[loc.id]):
            if j < len(want) and info == want[j]:
                kept.append(ln)
                j += 1
        loc.lines = kept
    samples: List[Sample] = []
    for i, stack in zip(keep, stacks):
        s = out.samples[i]
        s.locations = [by_id[lid] for lid in stack]
        samples.append(s)
    out.samples = samples
    return out


def apply(profile: Profile, options: ViewOptions) -> Profile:
    """Return ``profile`` filtered by ``options`` and aggregated to its granularity."""
    return aggregate(filter_profile(profile, options), options.granularity)
