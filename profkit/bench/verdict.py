"""Compare two pooled sides benchmark by benchmark: significance + effect size + direction.

Per benchmark (matched by name and unit):

* the sample unit: with enough files (runs) per side for the U test to reach alpha, each run's
  median is one sample (``run``), so process-to-process noise (memory layout, machine load) is
  inside the test instead of showing up as a false "significant" shift; otherwise each round's raw
  value is one sample (``round``, pytest-benchmark's ``stats.data``). ``sample_unit`` forces either.
* per side: median and order-statistics CI of those samples; two-sided Mann-Whitney U between them.
* summary statistics only (saved without ``--benchmark-save-data``) and too few runs for the run
  unit: Welch's t-test on mean/stddev/rounds, flagged as such.

p-values of every testable benchmark are Holm-adjusted together. A row is ``slower``/``faster`` only
when the adjusted p <= alpha **and** the median moved by at least ``threshold``; rows whose sample
sizes cannot reach p <= alpha say ``too few samples`` instead of a verdict. Inputs are not modified.
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


@dataclass
class SideStats:
    """What one side contributes to a row; ``ci`` is None when unbounded or unavailable."""

    n: int
    runs: int
    median: float
    ci: Optional[tuple]
    raw: bool


@dataclass
class Row:
    """One benchmark's comparison. ``change`` = new median / base median - 1."""

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

    @property
    def regressions(self) -> List[Row]:
        """Rows that fail the gate."""
        return [r for r in self.rows if r.is_regression]

    @property
    def exit_code(self) -> int:
        """0 when no gating benchmark got significantly slower beyond the threshold, else 1."""
        return 1 if self.regressions else 0


def _samples(bench: PooledBench, unit: str) -> List[float]:
    if unit == "run":
        return [s.median for s in bench.run_summaries]
    return bench.values


def _side(bench: PooledBench, unit: str, confidence: float) -> SideStats:
    """Summarise one side in the row's sample unit (Welch rows use the median of run medians)."""
    values = _samples(bench, "round" if unit == "round" else "run")
    n = len(values)
    median = statistics.median(values) if n else float("nan")
    ci = stats.median_ci(values, confidence) if n else None
    if unit == WELCH_SUMMARY:
        n, ci = sum(s.n for s in bench.run_summaries), None
    return SideStats(n, bench.runs, median, ci, bench.raw)


def _choose_unit(base: PooledBench, new: PooledBench, options: CompareOptions) -> str:
    """Return "run", "round" or WELCH_SUMMARY for this benchmark (see the module docstring)."""
    both_raw = base.raw and new.raw
    if options.sample_unit == "round" and both_raw:
        return "round"
    runs_ok = stats.min_reachable_p(base.runs, new.runs) <= options.alpha
    if options.sample_unit == "run" or runs_ok:
        return "run"
    return "round" if both_raw else WELCH_SUMMARY


def _pooled_summary(bench: PooledBench) -> tuple:
    """Return (mean, stddev, n) over all rounds of every file (total variance, not mean of sds)."""
    sums = bench.run_summaries
    n = sum(s.n for s in sums)
    mean = sum(s.mean * s.n for s in sums) / n
    ss = sum((s.n - 1) * s.stddev**2 + s.n * (s.mean - mean) ** 2 for s in sums)
    return mean, (ss / (n - 1)) ** 0.5 if n > 1 else 0.0, n


def _test(row: Row, base: PooledBench, new: PooledBench, unit: str, alpha: float,
          pending: List[tuple]) -> bool:
    """Set ``method`` (and ``p`` for Welch; U tests are queued on ``pending`` to run batched).

    Returns False (verdict set) when no test can reach ``alpha``.
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
            return False
        return True
    row.method = RUN_U if unit == "run" else RAW_U
    b, n = _samples(base, unit), _samples(new, unit)
    pending.append((row, b, n))
    if stats.min_reachable_p(len(b), len(n)) > alpha:
        row.verdict = TOO_FEW
        row.note = (f"n={len(b)} vs {len(n)} {unit}s: need >= {stats.samples_needed(alpha)} {unit}s "
                    f"per side to detect a difference at alpha {alpha:g}")
        return False
    return True


def compare(
    base: Dict[BenchKey, PooledBench],
    new: Dict[BenchKey, PooledBench],
    options: CompareOptions = CompareOptions(),
) -> Comparison:
    """Compare two pooled sides (see ``samples.pool``) and return the ``Comparison``."""
    rows: List[Row] = []
    tested: List[Row] = []
    pending: List[tuple] = []
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
        row.base = _side(b, sample_unit, options.confidence)
        row.new = _side(n, sample_unit, options.confidence)
        if row.base.n == 0 or row.new.n == 0:
            row.verdict = TOO_FEW
            row.note = "no samples on the " + ("base" if row.base.n == 0 else "new") + " side"
            continue
        row.change = stats.relative_change(row.base.median, row.new.median)
        if _test(row, b, n, sample_unit, options.alpha, pending):
            tested.append(row)
    for (row, _, _), p in zip(pending, stats.mann_whitney_many([(b, n) for _, b, n in pending])):
        row.p = p
    for row, p_adj in zip(tested, stats.holm([1.0 if r.p is None else r.p for r in tested])):
        row.p_adjusted = p_adj
        if p_adj > options.alpha or not row.change:
            continue
        if abs(row.change) < options.threshold:
            row.note = f"significant but below the {options.threshold:.0%} threshold"
            continue
        worse = row.change < 0 if row.higher_is_better else row.change > 0
        row.verdict = SLOWER if worse else FASTER
    comparison = Comparison(rows, _geomeans(rows), options=options)
    comparison.notes = _notes(comparison, base, new, len(tested))
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


def _notes(c: Comparison, base: Dict[BenchKey, PooledBench], new: Dict[BenchKey, PooledBench],
           tested: int) -> List[str]:
    notes = []
    opts = c.options
    one_sided = [r for r in c.rows if r.verdict in (BASE_ONLY, NEW_ONLY)]
    if one_sided:
        notes.append(f"{len(one_sided)} benchmark(s) present on one side only; geomean covers the "
                     "benchmarks present on both sides")
    if any(r.method == RUN_U for r in c.rows):
        notes.append("n counts runs (files): with several runs per side the U test compares per-run "
                     "medians, so process-to-process noise is part of the test (--sample-unit round "
                     "pools rounds instead)")
    if any(not (r.base and r.base.raw and r.new and r.new.raw) and r.method for r in c.rows):
        notes.append("summary only: some files hold no raw samples (write them with --benchmark-json "
                     "or --benchmark-save-data)")
    if any(r.method == WELCH_SUMMARY for r in c.rows):
        notes.append("rows marked Welch use Welch's t-test on mean/stddev/rounds from single summaries; it "
                     "assumes independent rounds and ignores run-to-run noise: treat as indicative")
    if tested > 1:
        notes.append(f"p-values Holm-adjusted across {tested} benchmarks (alpha {opts.alpha:g})")
        sizes = [min(r.base.n, r.new.n) for r in c.rows  # type: ignore[union-attr]
                 if r.method in (RAW_U, RUN_U) and r.verdict != TOO_FEW]
        first_step = opts.alpha / tested
        if sizes and stats.min_reachable_p(max(sizes), max(sizes)) > first_step:
            notes.append(f"with n <= {max(sizes)} per side no benchmark can pass Holm's first step "
                         f"(p <= {first_step:.2g}): need >= {stats.samples_needed(first_step)} per side")
    if any(r.verdict == TOO_FEW for r in c.rows):
        notes.append("too few samples: those rows cannot be significant whatever the data; rerun with "
                     "more rounds (pytest-benchmark --benchmark-min-rounds) or more runs")
    ci_n = stats.ci_min_samples(opts.confidence)
    if any(s is not None and s.ci is None and s.n > 0 for r in c.rows for s in (r.base, r.new)):
        notes.append(f"± ∞: need >= {ci_n} samples for a confidence interval at level {opts.confidence:g}")
    return notes
