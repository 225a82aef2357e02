"""pprof's load merge on a StackTable: all-zero samples dropped, equal samples summed.

Go 1.19's ``go tool pprof`` merges every input it reads, even a single one
(``profile.Merge``), *before* it applies the profile's own ``drop_frames``
(``RemoveUninteresting``), the ``tagroot``/``tagleaf`` pseudo frames and the
filters: a sample whose values are all zero is dropped, and a sample with the
same locations and labels as an earlier one is added into it. Reports that sum
values cannot tell; ``raw`` prints the samples one by one, so the report driver
merges for it at the same point (``profkit.report.driver``). Then samples equal
only after frames were dropped or hidden stay apart, and a zero sample gets no
pseudo frames (which would shift their ids), as in pprof.
"""

from __future__ import annotations

from typing import Dict, Hashable, List, Mapping, Sequence, Tuple

from profkit.analysis.stacks import StackTable

__all__ = ["labels_key", "merge_samples"]


def labels_key(
    labels: Mapping[str, Sequence[str]], num_labels: Mapping[str, Sequence[int]],
    num_units: Mapping[str, Sequence[str]],
) -> Tuple[Hashable, ...]:
    """Return a hashable key of one sample's labels: equal for labels Merge deems equal
    (order of keys ignored; units that are all empty are the same as none)."""
    return (
        tuple(sorted((k, tuple(v)) for k, v in labels.items())),
        tuple(sorted((k, tuple(v)) for k, v in num_labels.items())),
        tuple(sorted((k, tuple(v)) for k, v in num_units.items() if any(v))),
    )


def _keys(t: StackTable) -> List[Hashable]:
    """The Merge key of each sample of ``t``: its stack, and its labels if it has any."""
    labels, nums, units = t.labels, t.num_labels, t.num_units
    if labels is None or nums is None or units is None:
        if not any(t.base):
            return list(map(tuple, t.stacks))
        return list(zip(map(tuple, t.stacks), t.base))  # diff-base samples stay apart
    if not any(labels) and not any(nums):
        return list(map(tuple, t.stacks))
    return [
        (tuple(stack), labels_key(lab, num, unit) if lab or num else ())
        for stack, lab, num, unit in zip(t.stacks, labels, nums, units)
    ]


def merge_samples(t: StackTable) -> StackTable:
    """Return ``t`` with pprof's load merge applied (module doc): a new table, or ``t``
    itself when it has no all-zero sample and no two equal samples. Sample order is
    kept (a merged sample stands where its first copy stood); location ids and lines
    are unchanged."""
    keep: List[int] = []
    summed: Dict[int, List[int]] = {}  # position in keep -> its summed values
    seen: Dict[Hashable, int] = {}
    for i, (key, vals) in enumerate(zip(_keys(t), t.values)):
        if not any(vals):
            continue
        at = seen.setdefault(key, len(keep))
        if at == len(keep):
            keep.append(i)
            continue
        total = summed.get(at)
        if total is None:
            total = summed[at] = list(t.values[keep[at]])
        for j, v in enumerate(vals):
            total[j] += v
    if len(keep) == len(t.stacks):
        return t
    out = t.with_samples(keep)
    if summed:
        values: List[Sequence[int]] = list(out.values)
        for at, total in summed.items():
            values[at] = total
        out.values = values
    return out
