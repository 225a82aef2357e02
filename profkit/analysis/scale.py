"""``scale``, ``scale_n`` and ``normalize``: pprof's value scaling.

Values are multiplied by a ratio and rounded to the nearest integer, halves away
from zero (Go's ``math.Round``); samples whose values all become zero are dropped.
Every function returns a new profile; inputs are not modified.
"""

from __future__ import annotations

import math
from typing import List, Sequence

from profkit.analysis.merge import check_compatible
from profkit.model.profile import Profile

__all__ = ["go_round", "normalize", "scale", "scale_n"]


def go_round(x: float) -> int:
    """Round ``x`` to the nearest integer, halves away from zero (Go's ``math.Round``)."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"cannot scale a value to {x}")
    t = math.trunc(x)
    if abs(x - t) >= 0.5:
        t += 1 if x > 0 else -1
    return int(t)


def scale_n(p: Profile, ratios: Sequence[float]) -> Profile:
    """Return a copy of ``p`` with sample type ``i`` multiplied by ``ratios[i]``.

    Raises:
        ValueError: ``len(ratios)`` differs from the number of sample types
            (pprof's ``mismatched scale ratios, got N, want M``).
    """
    if len(ratios) != len(p.sample_types):
        raise ValueError(
            f"mismatched scale ratios, got {len(ratios)}, want {len(p.sample_types)}"
        )
    out = p.copy()
    if all(r == 1 for r in ratios):
        return out
    factors = list(ratios)
    kept = []
    for s in out.samples:
        vals: List[int] = [
            v if r == 1 else go_round(v * r) for v, r in zip(s.values, factors)
        ]
        if any(vals):
            s.values = vals
            kept.append(s)
    out.samples = kept
    return out


def scale(p: Profile, ratio: float) -> Profile:
    """Return a copy of ``p`` with every value multiplied by ``ratio`` (see ``scale_n``)."""
    return scale_n(p, [ratio] * len(p.sample_types))


def normalize(p: Profile, base: Profile) -> Profile:
    """Return ``p`` scaled so that each sample type's total equals ``base``'s.

    Type ``i`` is multiplied by sum(base_i)/sum(p_i), or by 0 when sum(p_i) is 0.

    Raises:
        IncompatibleProfilesError: the profiles have different types.
    """
    check_compatible(p, base)
    n = len(p.sample_types)
    base_totals = [0] * n
    for s in base.samples:
        for i, v in enumerate(s.values):
            base_totals[i] += v
    src_totals = [0] * n
    for s in p.samples:
        for i, v in enumerate(s.values):
            src_totals[i] += v
    ratios = [b / t if t else 0.0 for b, t in zip(base_totals, src_totals)]
    return scale_n(p, ratios)
