"""Statistics cross-checked against scipy and against known published values."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps

from profkit.bench import stats


def test_median_ci_uses_order_statistics_like_benchstat() -> None:
    assert stats.median_ci([5, 1, 4, 2, 3], 0.95) is None  # n=5: unbounded at 95 %
    assert stats.median_ci([6, 1, 5, 2, 4, 3], 0.95) == (1, 6)  # n=6: the extremes
    assert stats.ci_min_samples(0.95) == 6
    rng = random.Random(1)
    values = [rng.lognormvariate(0, 0.3) for _ in range(40)]
    k = int(sps.binom.ppf(0.025, 40, 0.5))
    ordered = sorted(values)
    assert stats.median_ci(values, 0.95) == (ordered[k - 1], ordered[40 - k])
    coverage = 1 - 2 * sps.binom.cdf(k - 1, 40, 0.5)
    assert coverage >= 0.95


def test_mann_whitney_matches_scipy_and_exact_value() -> None:
    # Complete separation of 4 vs 4: exact two-sided p = 2 / C(8, 4) = 0.02857.
    assert stats.mann_whitney_p([1, 2, 3, 4], [5, 6, 7, 8]) == pytest.approx(2 / 70)
    rng = random.Random(2)
    a = [rng.gauss(10, 1) for _ in range(50)]
    b = [rng.gauss(10.5, 1) for _ in range(60)]
    assert stats.mann_whitney_p(a, b) == pytest.approx(
        sps.mannwhitneyu(a, b, alternative="two-sided").pvalue)
    assert stats.mann_whitney_p([1.0] * 5, [1.0] * 5) == 1.0  # undefined test: P = 1
    assert stats.mann_whitney_p([], [1.0]) == 1.0


def test_min_reachable_p_and_samples_needed_match_benchstat_footnotes() -> None:
    assert stats.min_reachable_p(3, 3) == pytest.approx(0.1)
    assert stats.min_reachable_p(4, 4) == pytest.approx(0.0286, abs=1e-4)
    assert stats.min_reachable_p(1, 1) == 1.0
    assert stats.samples_needed(0.05) == 4  # "need >= 4 samples to detect a difference at alpha level 0.05"
    assert stats.min_reachable_p(1000, 1000) < 1e-300 or stats.min_reachable_p(1000, 1000) == 0.0
    # The exact test really reaches the minimum on separated samples.
    assert sps.mannwhitneyu([1, 2, 3], [4, 5, 6], method="exact").pvalue == pytest.approx(
        stats.min_reachable_p(3, 3))


def test_holm_known_example() -> None:
    # R: p.adjust(c(0.01, 0.04, 0.03, 0.005), "holm") -> 0.03 0.06 0.06 0.02
    assert stats.holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert stats.holm([]) == []
    assert stats.holm([0.5]) == [0.5]
    assert stats.holm([0.9, 0.8]) == [1.0, 1.0]


def _holm_rejects(pvalues: list, alpha: float) -> set:
    """Holm's step-down procedure written out literally (the reference for the property test)."""
    m = len(pvalues)
    rejected = set()
    for rank, i in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        if pvalues[i] > alpha / (m - rank):
            break
        rejected.add(i)
    return rejected


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30),
       st.sampled_from([0.01, 0.05, 0.1]))
def test_holm_adjusted_p_rejects_exactly_what_the_step_down_procedure_rejects(
        pvalues: list, alpha: float) -> None:
    adjusted = stats.holm(pvalues)
    assert {i for i, p in enumerate(adjusted) if p <= alpha} == _holm_rejects(pvalues, alpha)


def test_welch_from_summary_matches_scipy_on_raw_data() -> None:
    rng = random.Random(3)
    a = [rng.gauss(1.0, 0.1) for _ in range(30)]
    b = [rng.gauss(1.05, 0.2) for _ in range(25)]
    sd = lambda xs: math.sqrt(sum((x - sum(xs) / len(xs)) ** 2 for x in xs) / (len(xs) - 1))  # noqa: E731
    p = stats.welch_p_from_summary(sum(a) / 30, sd(a), 30, sum(b) / 25, sd(b), 25)
    assert p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert stats.welch_p_from_summary(1.0, 0.1, 1, 2.0, 0.1, 5) == 1.0


def test_geomean_and_relative_change() -> None:
    assert stats.geomean([1.0, 4.0]) == pytest.approx(2.0)
    assert stats.geomean([1.0, 0.0]) is None
    assert stats.relative_change(2.0, 2.6) == pytest.approx(0.3)
    assert stats.relative_change(0.0, 1.0) is None


def test_batched_mann_whitney_equals_one_call_per_pair() -> None:
    rng = random.Random(4)
    pairs = []
    for i in range(40):
        n1, n2 = (30, 30) if i % 3 else (12, 20)
        a = [round(rng.gauss(1.0, 0.1), 2) for _ in range(n1)]  # rounding makes ties
        b = [round(rng.gauss(1.0 + 0.01 * i, 0.1), 2) for _ in range(n2)]
        pairs.append((a, b))
    pairs.append(([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]))  # small: exact test
    pairs.append(([2.0] * 10, [2.0] * 10))  # undefined: 1.0
    expected = [stats.mann_whitney_p(a, b) for a, b in pairs]
    assert stats.mann_whitney_many(pairs) == pytest.approx(expected, rel=1e-9)
    assert expected[-1] == 1.0


@pytest.mark.parametrize("n1,n2", [(1, 1), (3, 3), (4, 4), (8, 8), (8, 30), (9, 9), (9, 10), (12, 12),
                                   (30, 5), (40, 40)])
def test_min_reachable_p_is_what_scipy_returns_on_separated_samples(n1: int, n2: int) -> None:
    # mannwhitneyu(method="auto") is exact while a side has <= 8 values, asymptotic beyond.
    base, new = list(range(n1)), list(range(n1, n1 + n2))
    assert stats.min_reachable_p(n1, n2) == pytest.approx(
        sps.mannwhitneyu(base, new, alternative="two-sided").pvalue, rel=1e-9)
    assert stats.mann_whitney_p(base, new) == pytest.approx(stats.min_reachable_p(n1, n2), rel=1e-9)


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.05 / 20, 2e-4, 0.05 / 500, 1e-6])
def test_samples_needed_holds_for_every_larger_n(alpha: float) -> None:
    n = stats.samples_needed(alpha)
    for k in range(n, 60):
        separated = sps.mannwhitneyu(range(k), range(k, 2 * k), alternative="two-sided").pvalue
        assert separated <= alpha, (k, separated)
    # and n is the smallest such value: n - 1 fails somewhere at or above it
    assert n == 1 or any(stats.min_reachable_p(k, k) > alpha for k in range(n - 1, 60))
    if alpha == 0.05 / 500:  # 500 benchmarks: n = 9 switches to the asymptotic test, best p 4.1e-4
        assert n == 11 and stats.min_reachable_p(9, 9) > alpha


def _holm_best_brute_force(min_ps: list, i: int) -> float:
    import itertools

    grid = sorted(set(min_ps) | {1.0})
    choices = [[v for v in grid if v >= q] for q in min_ps]
    choices[i] = [v for v in grid if v >= min_ps[i]]
    return min(stats.holm(list(combo))[i] for combo in itertools.product(*choices))


@pytest.mark.parametrize("min_ps", [[0.0286, 0.0286], [0.0286, 1e-9], [0.0286, 0.0286, 1e-9],
                                    [0.1, 0.02, 0.004, 0.03], [0.01, 0.012, 0.011, 0.5, 1e-5]])
def test_holm_reachable_is_the_best_case_of_holm(min_ps: list) -> None:
    best = stats.holm_reachable(min_ps)
    assert best == pytest.approx([_holm_best_brute_force(min_ps, i) for i in range(len(min_ps))])
