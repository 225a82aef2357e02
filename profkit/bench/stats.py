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
from typing import Dict, List, Optional, Sequence, Tuple


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


def scipy_uses_exact(n_base: int, n_new: int) -> bool:
    """Return True when scipy's ``mannwhitneyu(method="auto")`` runs the exact test (no ties).

    scipy 1.7+ (``_mwu_choose_method``): asymptotic when both sides exceed 8 (or with ties),
    else exact. ``mann_whitney_p``/``mann_whitney_many`` follow the same rule.
    """
    return not (n_base > 8 and n_new > 8)


@functools.lru_cache(maxsize=1024)
def min_reachable_p(n_base: int, n_new: int) -> float:
    """Return the smallest two-sided U-test p possible with these sample sizes, as scipy computes it.

    Reached when the samples do not overlap at all (and have no ties). With the exact test (a side
    of <= 8) that is ``2 / C(n1+n2, n1)`` (n = 3 per side: 0.1; n = 4: 0.0286; n = 8: 1.55e-4); with
    the asymptotic test scipy uses beyond 8 per side it is the normal approximation's p at U = 0
    with continuity correction, which is larger (n = 9: 4.1e-4), so the bound is not monotone in n.
    """
    if n_base <= 0 or n_new <= 0:
        return 1.0
    if scipy_uses_exact(n_base, n_new):
        log_comb = math.lgamma(n_base + n_new + 1) - math.lgamma(n_base + 1) - math.lgamma(n_new + 1)
        return min(1.0, 2.0 * math.exp(-log_comb))
    from scipy.stats import norm

    # scipy's asymptotic branch: z = (U - n1 n2 / 2 - 0.5) / sigma at U = n1 n2 (or 0), p = 2 sf(|z|)
    mu = n_base * n_new / 2.0
    sigma = math.sqrt(n_base * n_new * (n_base + n_new + 1) / 12.0)
    return min(1.0, float(2.0 * norm.sf((mu - 0.5) / sigma)))


def samples_needed(alpha: float) -> int:
    """Return the smallest n such that every n' >= n per side lets the U test reach ``p <= alpha``.

    Because scipy switches from the exact to the (weaker) asymptotic test above 8 per side, an
    n <= 8 that reaches ``alpha`` only counts when n = 9 reaches it too.
    """
    asymptotic = 9
    while min_reachable_p(asymptotic, asymptotic) > alpha:
        asymptotic += 1
    if asymptotic > 9:
        return asymptotic
    for n in range(1, 9):
        if all(min_reachable_p(k, k) <= alpha for k in range(n, 9)):
            return n
    return 9


def holm_reachable(min_ps: Sequence[float]) -> List[float]:
    """Return, per hypothesis, the smallest Holm-adjusted p it can get given every ``min_ps``.

    ``min_ps[i]`` is the smallest raw p hypothesis i can have (``min_reachable_p``). The best case
    for i places the s hypotheses with the smallest minima before it (at their minima) and i at
    ``max(min_ps[i], last of those)``; the result is the minimum over s of the Holm chain
    ``max_k (m - k) p_(k)``. A hypothesis whose value exceeds alpha can never be rejected by Holm
    at level alpha, whatever the data.
    """
    m = len(min_ps)
    best: Dict[float, float] = {}
    ordered = sorted(min_ps)
    for q in set(min_ps):
        others = list(ordered)
        others.remove(q)
        chain, result = 0.0, m * q
        for s in range(1, m):
            chain = max(chain, (m - s + 1) * others[s - 1])
            if chain >= result:
                break
            result = min(result, max(chain, (m - s) * max(q, others[s - 1])))
        best[q] = min(1.0, result)
    return [best[q] for q in min_ps]


def mean_ci_from_summary(mean: float, sd: float, n: int,
                         confidence: float = 0.95) -> Optional[Tuple[float, float]]:
    """Return ``mean ± t·sd/√n`` (Student t, scipy) from summary statistics, or None when n < 2.

    Like Welch's test on summaries it assumes independent values (rounds of one process are not).
    """
    if n < 2 or not math.isfinite(sd):
        return None
    from scipy.stats import t

    half = float(t.ppf(0.5 + confidence / 2.0, n - 1)) * sd / math.sqrt(n)
    return mean - half, mean + half


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
