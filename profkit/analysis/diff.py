"""``subtract`` (pprof's ``-base``), ``diff`` (``-diff_base``) and ``delta`` (Go's
``?seconds=N`` endpoint delta). Each returns a new profile; inputs are not modified.

A diff keeps the base samples apart from the new ones: they carry the reserved
label ``pprof::base=true`` and negated values, so ``go tool pprof`` (and profkit's
views) compute percentages against the base total when the file is reopened.
"""

from __future__ import annotations

from profkit.analysis.merge import merge
from profkit.analysis.scale import normalize as normalize_to
from profkit.analysis.scale import scale
from profkit.model.profile import Profile

__all__ = ["BASE_LABEL", "delta", "diff", "is_diff", "subtract"]

#: pprof's reserved label that marks the base samples of a diff.
BASE_LABEL = "pprof::base"


def subtract(p: Profile, base: Profile, *, normalize: bool = False) -> Profile:
    """Return ``p - base`` (pprof ``-base``): merge(p, scale(base, -1)), no label.

    With ``normalize``, ``p`` is first scaled to ``base``'s totals.
    Raises IncompatibleProfilesError when the types differ.
    """
    src = normalize_to(p, base) if normalize else p
    return merge([src, scale(base, -1)])


def diff(base: Profile, new: Profile, *, normalize: bool = False) -> Profile:
    """Return the diff of ``new`` against ``base`` (pprof ``-diff_base``).

    The base's samples are labelled ``pprof::base=true`` (replacing any value of
    that key) and negated, then merged after ``new``'s. With ``normalize``, ``new``
    is first scaled to ``base``'s totals.
    Raises IncompatibleProfilesError when the types differ.
    """
    src = normalize_to(new, base) if normalize else new
    negated = scale(base, -1)
    for s in negated.samples:  # ``negated`` is our own copy
        s.labels[BASE_LABEL] = ["true"]
    return merge([src, negated])


def is_diff(p: Profile) -> bool:
    """Return True if some sample carries ``pprof::base=true`` (the profile is a diff)."""
    return any("true" in s.labels.get(BASE_LABEL, ()) for s in p.samples)


def delta(p0: Profile, p1: Profile) -> Profile:
    """Return Go's delta profile ``p1 - p0``, stamped as the window between them.

    Result: merge(scale(p0, -1), p1) with ``time_nanos = p1.time_nanos`` and
    ``duration_nanos = p1.time_nanos - p0.time_nanos`` (0 if either time is unset).
    Unchanged stacks vanish; gauges such as ``inuse_space`` may go negative.
    Raises IncompatibleProfilesError when the types differ.
    """
    out = merge([scale(p0, -1), p1])
    out.time_nanos = p1.time_nanos
    if p0.time_nanos and p1.time_nanos:
        out.duration_nanos = max(0, p1.time_nanos - p0.time_nanos)
    else:
        out.duration_nanos = p1.duration_nanos
    return out
