"""Minimum detectable effect: the smallest slowdown a row's test could call significant.

Noise is estimated from the samples, not assumed. For a U-test row: each side's samples are
divided by their own median (the observed shift is taken out, the spread kept); a hypothetical new
side is the new samples scaled by ``1 + d`` (``1 - d`` for higher-is-better units); the MDE is the
smallest ``d`` for which the two-sided U test would give ``p <= alpha_row``, where ``alpha_row`` is
alpha divided by the size of the Holm family (the first step of Holm's procedure: what one
regression among ``m`` tested benchmarks must reach). The U statistic only changes when the factor
crosses a ratio ``base_i / new_j``, so ``d`` is read off the sorted ratios once the largest
significant U (``critical_u``, from scipy's own test on synthetic samples) is known.
For a Welch row (summaries only): ``d = t(1 - alpha_row/2, df) * sqrt(s1²/n1 + s2²/n2) / mean``.

``math.inf`` means no change whatever its size could be significant (too few samples). Ties are
ignored (as ``stats.min_reachable_p`` does); sides above ``MAX_SIDE`` samples are thinned to
evenly spaced order statistics, which only makes the MDE larger (conservative).
"""

from __future__ import annotations

import functools
import math
import statistics
from typing import List, Sequence

from profkit.bench import stats

#: Samples per side above which the ratio search thins the side (order statistics kept).
MAX_SIDE = 400


@functools.lru_cache(maxsize=4096)
def critical_u(n_base: int, n_new: int, alpha: float) -> int:
    """Return the largest U (pairs with new < base) whose two-sided p is ``<= alpha``, or -1."""

    def p_at(u: int) -> float:
        counts, left = [], u
        for _ in range(n_base):  # base value i lies above counts[i] of the new values 0..n_new-1
            c = min(n_new, left)
            counts.append(c)
            left -= c
        base = [c - 0.5 + (i + 1) * 1e-7 for i, c in enumerate(counts)]  # distinct: no ties
        return stats.mann_whitney_p(base, [float(j) for j in range(n_new)])

    if p_at(0) > alpha:
        return -1
    lo, hi = 0, n_base * n_new // 2  # p(U) grows with U up to the middle
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if p_at(mid) <= alpha:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _thin(values: Sequence[float]) -> List[float]:
    ordered = sorted(values)
    n = len(ordered)
    if n <= MAX_SIDE:
        return ordered
    return [ordered[round(i * (n - 1) / (MAX_SIDE - 1))] for i in range(MAX_SIDE)]


def mde_u(base: Sequence[float], new: Sequence[float], alpha_row: float,
          higher_is_better: bool = False) -> float:
    """Return the MDE (a fraction, 0.03 = 3 %) of a U-test row; ``math.inf`` when unreachable."""
    if not base or not new:
        return math.inf
    b, n = _thin(base), _thin(new)
    mb, mn = statistics.median(b), statistics.median(n)
    if mb <= 0 or mn <= 0:
        return math.inf
    u = critical_u(len(b), len(n), alpha_row)
    if u < 0:
        return math.inf
    import numpy as np

    ratios = np.divide.outer(np.asarray(b) / mb, np.asarray(n) / mn).ravel()
    if higher_is_better:  # new * (1 - d) must fall below base: count(ratio < 1 - d) <= u
        factor = float(np.partition(ratios, u)[u])
        return max(0.0, 1.0 - factor * (1 - 1e-12))
    # new * (1 + d) must rise above base: count(ratio > 1 + d) <= u
    k = ratios.size - 1 - u
    factor = float(np.partition(ratios, k)[k])
    return max(0.0, factor * (1 + 1e-12) - 1.0)


def mde_welch(mean: float, sd_base: float, n_base: int, sd_new: float, n_new: int,
              alpha_row: float) -> float:
    """Return the MDE of a Welch row (means from summaries); ``math.inf`` when n < 2 or mean <= 0."""
    if n_base < 2 or n_new < 2 or mean <= 0:
        return math.inf
    v1, v2 = sd_base**2 / n_base, sd_new**2 / n_new
    if v1 + v2 == 0:
        return 0.0
    df = (v1 + v2) ** 2 / ((v1**2 / (n_base - 1) if v1 else 0.0) + (v2**2 / (n_new - 1) if v2 else 0.0))
    from scipy.stats import t

    return float(t.ppf(1 - alpha_row / 2, df)) * math.sqrt(v1 + v2) / mean


def set_mde(sides: Sequence[tuple], alpha_row: float) -> None:
    """Set ``row.mde`` for each ``(row, base, new, sample_unit)`` of ``verdict.compare``.

    ``too few samples`` rows get ``math.inf``; Welch rows the t-based MDE; U rows ``mde_u`` on the
    samples the row was tested on (run medians or rounds).
    """
    from profkit.bench.verdict import TOO_FEW, WELCH_SUMMARY, _pooled_summary, _samples

    for row, base, new, unit in sides:
        if row.verdict == TOO_FEW:
            row.mde = math.inf
        elif unit == WELCH_SUMMARY:
            m1, sd1, n1 = _pooled_summary(base)
            _, sd2, n2 = _pooled_summary(new)
            row.mde = mde_welch(m1, sd1, n1, sd2, n2, alpha_row)
        else:
            row.mde = mde_u(_samples(base, unit), _samples(new, unit), alpha_row,
                            row.higher_is_better)
