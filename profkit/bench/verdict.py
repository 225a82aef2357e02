"""Compare two pooled sides benchmark by benchmark: significance + effect size + direction.

Per benchmark (matched by name and unit):

* the sample unit: with two or more files (runs) on each side, each run's median is one sample
  (``run``), so process-to-process noise (memory layout, machine load) is inside the test instead
  of showing up as a false "significant" shift; with a single run on a side, each round's raw value
  is one sample (``round``, pytest-benchmark's ``stats.data``) and the row is flagged
  ``single_run``: its p-value ignores run-to-run noise. ``sample_unit`` forces either.
* per side: median and order-statistics CI of those samples; two-sided Mann-Whitney U between them.
* summary statistics only (saved without ``--benchmark-save-data``) and a single run on a side:
  Welch's t-test on mean/stddev/rounds; those rows report and judge the change of the **means**
  (``center == "mean"``), with a t interval, since that is what the test is about.

Holm family (which benchmarks share the correction): benchmarks whose samples are one identical
constant on both sides (0 B/op on both) are not tested; benchmarks whose sample sizes cannot reach
p <= alpha even alone, or even in the best case of Holm's step-down across the family
(``stats.holm_reachable``), are left out, repeatedly, as in Tarone's procedure. That choice depends
on sample sizes and pooled values only, so the family-wise error rate stays <= alpha. Those rows say
``too few samples``. A row is ``slower``/``faster`` only when the Holm-adjusted p <= alpha **and**
the change is at least ``threshold``. Inputs are not modified.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from profkit.bench import stats
from profkit.bench.samples import BenchKey, PooledBench

SLOWER = "slower"
FASTER = "faster"
UNCHANGED = "~"
TOO_FEW = "too few samples"
BASE_ONLY = "base only"
NEW_ONLY = "new only"

RAW_U = "U test on rounds"
RUN_U = "U test on run medians"
WELCH_SUMMARY = "Welch t on summaries (summary only)"

#: ``sample_unit`` values: each round is a sample, each run (file) is a sample, or choose.
UNITS = ("auto", "round", "run")


@dataclass(frozen=True)
class CompareOptions:
    """Knobs of the comparison; ``threshold`` is a fraction (0.05 = 5 %)."""

    alpha: float = 0.05
    threshold: float = 0.05
    confidence: float = 0.95
    fail_on: Sequence[str] = ()
    sample_unit: str = "auto"
    strict: bool = False


@dataclass
class SideStats:
    """What one side contributes to a row; ``ci`` is None when unbounded or unavailable.

    ``median`` holds the centre the row is judged on: the median, or the mean when ``center`` is
    ``"mean"`` (Welch rows on summaries).
    """

    n: int
    runs: int
    median: float
    ci: Optional[tuple]
    raw: bool
    center: str = "median"


@dataclass
class Row:
    """One benchmark's comparison. ``change`` = new centre / base centre - 1 (median, or mean).

    ``single_run``: rounds (or a summary) of a single run on a side were the samples, so ``p``
    ignores run-to-run noise.
    """

    name: str
    unit: str
    base: Optional[SideStats]
    new: Optional[SideStats]
    change: Optional[float] = None
    p: Optional[float] = None
    p_adjusted: Optional[float] = None
    method: Optional[str] = None
    verdict: str = UNCHANGED
    note: str = ""
    gates: bool = True
    higher_is_better: bool = False
    single_run: bool = False
    mde: Optional[float] = None  # smallest detectable slowdown (power.py); inf: none; None: n/a

    @property
    def is_regression(self) -> bool:
        """True when this row should fail a CI gate."""
        return self.verdict == SLOWER and self.gates


@dataclass
class GeomeanRow:
    """Geometric means of the medians over benchmarks present on both sides, per unit."""

    unit: str
    count: int
    base: Optional[float]
    new: Optional[float]
    change: Optional[float]


@dataclass
class Comparison:
    """The whole comparison: rows sorted by name, geomeans, and footnotes for the reader."""

    rows: List[Row]
    geomeans: List[GeomeanRow]
    notes: List[str] = field(default_factory=list)
    options: CompareOptions = field(default_factory=CompareOptions)
    needed: int = 1  # samples per side with which every benchmark passes Holm's first step

    @property
    def regressions(self) -> List[Row]:
        """Rows that fail the gate."""
        return [r for r in self.rows if r.is_regression]

    @property
    def blind(self) -> List[Row]:
        """Gating rows that cannot be significant with the samples given (``too few samples``)."""
        return [r for r in self.rows if r.verdict == TOO_FEW and r.gates]

    @property
    def undecided(self) -> List[Row]:
        """Blind rows whose change is beyond the threshold in the slower direction."""
        return [r for r in self.blind if r.change is not None and self.options.threshold <= (
            -r.change if r.higher_is_better else r.change)]

    @property
    def insensitive(self) -> List[Row]:
        """Gating rows judged ``~`` whose minimum detectable effect exceeds the threshold.

        The gate cannot see a slowdown of the threshold's size there: with this noise and these
        samples, such a change would not have been significant.
        """
        return [r for r in self.rows if r.gates and r.verdict == UNCHANGED and r.mde is not None
                and r.mde > self.options.threshold]

    @property
    def exit_code(self) -> int:
        """1 on a gating regression; else 2 when ``strict`` and the gate is blind or cannot see
        the threshold (``insensitive``); else 0.

        Without ``strict`` "no evidence" exits 0: blind rows are reported, not failed.
        """
        if self.regressions:
            return 1
        return 2 if self.options.strict and (self.blind or self.insensitive) else 0


def _samples(bench: PooledBench, unit: str) -> List[float]:
    if unit == "run":
        return [s.median for s in bench.run_summaries]
    return bench.values


def _side(bench: PooledBench, unit: str, confidence: float) -> SideStats:
    """Summarise one side in the row's sample unit (Welch rows: pooled mean and its t interval)."""
    if unit == WELCH_SUMMARY:
        mean, sd, n = _pooled_summary(bench)
        ci = stats.mean_ci_from_summary(mean, sd, n, confidence)
        return SideStats(n, bench.runs, mean, ci, bench.raw, center="mean")
    values = _samples(bench, "round" if unit == "round" else "run")
    n = len(values)
    median = statistics.median(values) if n else float("nan")
    ci = stats.median_ci(values, confidence) if n else None
    return SideStats(n, bench.runs, median, ci, bench.raw)


def _choose_unit(base: PooledBench, new: PooledBench, options: CompareOptions) -> str:
    """Return "run", "round" or WELCH_SUMMARY for this benchmark (see the module docstring)."""
    both_raw = base.raw and new.raw
    if options.sample_unit == "run":
        return "run"
    if options.sample_unit == "auto" and base.runs >= 2 and new.runs >= 2:
        return "run"
    return "round" if both_raw else WELCH_SUMMARY


def _pooled_summary(bench: PooledBench) -> tuple:
    """Return (mean, stddev, n) over all rounds of every file (total variance, not mean of sds)."""
    sums = bench.run_summaries
    n = sum(s.n for s in sums)
    if n == 0:
        return float("nan"), 0.0, 0
    mean = sum(s.mean * s.n for s in sums) / n
    ss = sum((s.n - 1) * s.stddev**2 + s.n * (s.mean - mean) ** 2 for s in sums)
    return mean, (ss / (n - 1)) ** 0.5 if n > 1 else 0.0, n


def _test(row: Row, base: PooledBench, new: PooledBench, unit: str, alpha: float,
          pending: List[tuple]) -> Optional[float]:
    """Set ``method`` (and ``p`` for Welch; U tests are queued on ``pending`` to run batched).

    Returns the smallest p this row's test can reach, or None (verdict set) when it cannot reach
    ``alpha`` even alone.
    """
    assert row.base is not None and row.new is not None
    if unit == WELCH_SUMMARY:
        m1, sd1, n1 = _pooled_summary(base)
        m2, sd2, n2 = _pooled_summary(new)
        row.method = WELCH_SUMMARY
        row.p = stats.welch_p_from_summary(m1, sd1, n1, m2, sd2, n2)
        if n1 < 2 or n2 < 2:
            row.verdict = TOO_FEW
            row.note = "need >= 2 rounds per side for a test on summaries"
            return None
        return 0.0
    row.method = RUN_U if unit == "run" else RAW_U
    b, n = _samples(base, unit), _samples(new, unit)
    pending.append((row, b, n))
    reachable = stats.min_reachable_p(len(b), len(n))
    if reachable > alpha:
        row.verdict = TOO_FEW
        row.note = (f"n={len(b)} vs {len(n)} {unit}s: need >= {stats.samples_needed(alpha)} {unit}s "
                    f"per side to detect a difference at alpha {alpha:g}")
        return None
    return reachable


def _holm_family(candidates: List[tuple], alpha: float, needed: int) -> List[Row]:
    """Drop, repeatedly, the rows that cannot pass Holm at ``alpha`` in the best case; return the rest."""
    family = candidates
    while family:
        best = stats.holm_reachable([mp for _, mp in family])
        kept = [c for c, bp in zip(family, best) if bp <= alpha]
        for (row, _), bp in zip(family, best):
            if bp > alpha:
                unit = "run" if row.method == RUN_U else "round"
                row.verdict = TOO_FEW
                row.note = (f"n={row.base.n} vs {row.new.n} {unit}s: with {len(family)} benchmarks in "  # type: ignore[union-attr]
                            f"the Holm family the adjusted p cannot get below {bp:.2g} (alpha "
                            f"{alpha:g}); need >= {needed} {unit}s per side")
        if len(kept) == len(family):
            break
        family = kept
    return [row for row, _ in family]


def compare(
    base: Dict[BenchKey, PooledBench],
    new: Dict[BenchKey, PooledBench],
    options: CompareOptions = CompareOptions(),
) -> Comparison:
    """Compare two pooled sides (see ``samples.pool``) and return the ``Comparison``."""
    rows: List[Row] = []
    candidates: List[tuple] = []
    pending: List[tuple] = []
    sides: List[tuple] = []
    attempted = 0
    gate_res = [re.compile(p) for p in options.fail_on]
    for key in sorted(set(base) | set(new)):
        name, unit = key
        b, n = base.get(key), new.get(key)
        present = b or n
        assert present is not None
        row = Row(name, unit, None, None, higher_is_better=present.higher_is_better)
        row.gates = not gate_res or any(r.search(name) for r in gate_res)
        rows.append(row)
        if b is None or n is None:
            row.verdict = NEW_ONLY if b is None else BASE_ONLY
            side = _side(present, "round" if present.raw else "run", options.confidence)
            if b is None:
                row.new = side
            else:
                row.base = side
            continue
        sample_unit = _choose_unit(b, n, options)
        sides.append((row, b, n, sample_unit))
        row.base = _side(b, sample_unit, options.confidence)
        row.new = _side(n, sample_unit, options.confidence)
        if row.base.n == 0 or row.new.n == 0:
            row.verdict = TOO_FEW
            row.note = "no samples on the " + ("base" if row.base.n == 0 else "new") + " side"
            continue
        row.single_run = sample_unit != "run" and min(b.runs, n.runs) == 1
        row.change = stats.relative_change(row.base.median, row.new.median)
        if sample_unit != WELCH_SUMMARY and len(set(_samples(b, sample_unit) + _samples(n, sample_unit))) == 1:
            row.method, row.p = (RUN_U if sample_unit == "run" else RAW_U), 1.0
            row.note = "one identical value on both sides: not tested (left out of the Holm family)"
            continue
        attempted += 1
        reachable = _test(row, b, n, sample_unit, options.alpha, pending)
        if reachable is not None:
            candidates.append((row, reachable))
    needed = stats.samples_needed(options.alpha / max(1, attempted))
    tested = _holm_family(candidates, options.alpha, needed)
    for (row, _, _), p in zip(pending, stats.mann_whitney_many([(b, n) for _, b, n in pending])):
        row.p = p
    from profkit.bench.power import set_mde

    set_mde(sides, options.alpha / max(1, len(tested)))
    for row, p_adj in zip(tested, stats.holm([1.0 if r.p is None else r.p for r in tested])):
        row.p_adjusted = p_adj
        if p_adj > options.alpha or not row.change:
            continue
        if abs(row.change) < options.threshold:
            row.note = f"significant but below the {options.threshold * 100:.3g}% threshold"
            continue
        worse = row.change < 0 if row.higher_is_better else row.change > 0
        row.verdict = SLOWER if worse else FASTER
    from profkit.bench.verdict_notes import notes

    comparison = Comparison(rows, _geomeans(rows), options=options, needed=needed)
    comparison.notes = notes(comparison, len(tested))
    return comparison


def _geomeans(rows: Sequence[Row]) -> List[GeomeanRow]:
    out = []
    for unit in sorted({r.unit for r in rows}):
        common = [r for r in rows if r.unit == unit and r.base and r.new and r.base.n and r.new.n]
        if not common:
            continue
        gb = stats.geomean([r.base.median for r in common])  # type: ignore[union-attr]
        gn = stats.geomean([r.new.median for r in common])  # type: ignore[union-attr]
        if gb is None or gn is None:
            continue  # some summaries <= 0 (e.g. 0 B/op): no geomean, as benchstat warns
        change = stats.relative_change(gb, gn) if gb and gn else None
        out.append(GeomeanRow(unit, len(common), gb, gn, change))
    return out
