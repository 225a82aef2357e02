"""Statistics for benchmark comparison: median CI, Mann-Whitney U, Holm, Welch on summaries.

The tests themselves are scipy's (``scipy.stats.mannwhitneyu``, ``ttest_ind_from_stats``,
``binom``); this module only picks the rules benchstat uses and adds what benchstat lacks
(Holm-Bonferroni across benchmarks, power statements from the minimum reachable p).
All functions take sequences of floats and never modify them; scipy is imported lazily.
"""

from __future__ import annotations

import functools
import math
import statistics
from typing import List, Optional, Sequence, Tuple


def median_ci(values: Sequence[float], confidence: float = 0.95) -> Optional[Tuple[float, float]]:
    """Return the distribution-free confidence interval of the median, or None if unbounded.

    Order-statistics rule (benchstat's): with ``k = binom.ppf((1 - confidence) / 2, n, 0.5)``
    the interval is ``[x_(k), x_(n-k+1)]`` (1-based), whose coverage is at least ``confidence``.
    When ``k == 0`` the interval would reach past the extremes: None (``need >= N samples``).
    """
    n = len(values)
    if n == 0:
        return None
    k = _order_statistic_rank(n, confidence)
    if k < 1:
        return None
    ordered = sorted(values)
    return ordered[k - 1], ordered[n - k]


@functools.lru_cache(maxsize=4096)
def _order_statistic_rank(n: int, confidence: float) -> int:
    from scipy.stats import binom

    return int(binom.ppf((1.0 - confidence) / 2.0, n, 0.5))


def ci_min_samples(confidence: float = 0.95) -> int:
    """Return the smallest n for which ``median_ci`` is bounded (6 at 0.95, as benchstat says)."""
    n = 1
    while 2.0 * 0.5**n > 1.0 - confidence:
        n += 1
    return n


def mann_whitney_p(base: Sequence[float], new: Sequence[float]) -> float:
    """Return the two-sided Mann-Whitney U p-value (scipy, method chosen by scipy).

    Returns 1.0 when either side is empty, or when the test is undefined (e.g. every value
    identical on both sides), which is how benchstat treats a failing test.
    """
    if not base or not new:
        return 1.0
    from scipy.stats import mannwhitneyu

    try:
        p = float(mannwhitneyu(base, new, alternative="two-sided").pvalue)
    except ValueError:
        return 1.0
    return 1.0 if math.isnan(p) else p


def mann_whitney_many(pairs: Sequence[Tuple[Sequence[float], Sequence[float]]]) -> List[float]:
    """Return ``mann_whitney_p`` for each ``(base, new)`` pair, batching same-size pairs.

    Pairs whose sizes exceed 8 on a side (where scipy uses the asymptotic test anyway) are grouped
    by shape and tested with one vectorised ``mannwhitneyu(..., axis=1)`` call per group; the
    per-row results equal separate calls. Small pairs (exact test) are tested one by one.
    """
    out: List[float] = [1.0] * len(pairs)
    groups: dict = {}
    for i, (a, b) in enumerate(pairs):
        if len(a) > 8 and len(b) > 8:
            groups.setdefault((len(a), len(b)), []).append(i)
        else:
            out[i] = mann_whitney_p(a, b)
    if not groups:
        return out
    import numpy as np
    from scipy.stats import mannwhitneyu

    for (_n1, _n2), idx in groups.items():
        base_rows = np.array([pairs[i][0] for i in idx], dtype=float)
        new_rows = np.array([pairs[i][1] for i in idx], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ps = mannwhitneyu(base_rows, new_rows, alternative="two-sided", axis=1,
                              method="asymptotic").pvalue
        for i, p in zip(idx, np.atleast_1d(ps)):
            out[i] = 1.0 if math.isnan(float(p)) else float(p)
    return out


def min_reachable_p(n_base: int, n_new: int) -> float:
    """Return the smallest two-sided U-test p possible with these sample sizes: 2 / C(n1+n2, n1).

    It is reached when the samples do not overlap at all (n = 3 per side: 0.1; n = 4: 0.0286).
    """
    if n_base <= 0 or n_new <= 0:
        return 1.0
    log_comb = math.lgamma(n_base + n_new + 1) - math.lgamma(n_base + 1) - math.lgamma(n_new + 1)
    return min(1.0, 2.0 * math.exp(-log_comb))


def samples_needed(alpha: float) -> int:
    """Return the smallest n per side for which the U test can reach ``p <= alpha``."""
    n = 1
    while min_reachable_p(n, n) > alpha:
        n += 1
    return n


def holm(pvalues: Sequence[float]) -> List[float]:
    """Return Holm-Bonferroni adjusted p-values, in the input order.

    Step-down: sort ascending, multiply the i-th smallest (0-based) by ``m - i``, make the sequence
    non-decreasing with a running maximum, cap at 1. A hypothesis is rejected at level alpha
    exactly when its adjusted p is ``<= alpha`` (same as R's ``p.adjust(method="holm")``).
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [1.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


def welch_p_from_summary(
    mean_base: float, sd_base: float, n_base: int, mean_new: float, sd_new: float, n_new: int
) -> float:
    """Return the two-sided Welch t-test p-value from summary statistics (scipy).

    The fallback when raw samples were not stored; 1.0 when undefined (n < 2 or zero spread with
    equal means).
    """
    if n_base < 2 or n_new < 2:
        return 1.0
    if sd_base == 0 and sd_new == 0:
        return 1.0 if mean_base == mean_new else 0.0
    from scipy.stats import ttest_ind_from_stats

    p = float(ttest_ind_from_stats(mean_base, sd_base, n_base, mean_new, sd_new, n_new,
                                   equal_var=False).pvalue)
    return 1.0 if math.isnan(p) else p


def geomean(values: Sequence[float]) -> Optional[float]:
    """Return the geometric mean of positive values, or None when any value is <= 0, NaN, or none given."""
    if not values or any(not v > 0 for v in values):  # also rejects NaN
        return None
    return math.exp(statistics.fmean(math.log(v) for v in values))


def relative_change(base: float, new: float) -> Optional[float]:
    """Return ``new / base - 1`` (0.30 = 30 % higher), or None when ``base`` is 0."""
    if base == 0:
        return None
    return new / base - 1.0
