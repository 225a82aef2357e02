"""A/A calibration: estimate the noise floor from runs of the same code and suggest a threshold.

Input: several runs (files) of unchanged code. For every benchmark present in at least two runs,
the relative change between the medians of every pair of runs is the noise a one-file-per-side
comparison would see (for files without raw samples, the change of the means, which is what
``compare`` judges on summaries). The suggested ``--threshold`` is the 95th percentile of those changes over all
benchmarks, rounded up to a whole percent; the report also says how often the per-round test alone
(threshold 0) calls an A/A pair "significant", which is why the threshold is needed.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import statistics
from dataclasses import dataclass, field
from typing import Dict, List, Sequence

from profkit.bench.samples import BenchKey, BenchRun, pool
from profkit.bench.verdict import FASTER, SLOWER, CompareOptions, compare
from profkit.errors import InputError


@dataclass
class BenchNoise:
    """Noise of one benchmark across A/A runs (changes are fractions: 0.03 = 3 %)."""

    name: str
    unit: str
    runs: int
    median: float
    p95_change: float
    max_change: float


@dataclass
class NoiseReport:
    """Result of ``estimate_noise``."""

    runs: int
    benchmarks: List[BenchNoise]
    suggested_threshold: float
    pairs_tested: int
    pairs_flagged_without_threshold: int
    pairs_flagged_with_suggestion: int
    notes: List[str] = field(default_factory=list)


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def estimate_noise(runs: Sequence[BenchRun], *, alpha: float = 0.05, confidence: float = 0.95,
                   max_pairs: int = 200) -> NoiseReport:
    """Estimate noise from A/A runs; inputs are not modified.

    Raises:
        InputError: fewer than two runs, the same file twice, or no benchmark present in two runs.
    """
    if len(runs) < 2:
        raise InputError("bench noise needs at least 2 runs of the same code (A/A runs)")
    seen: Dict[str, str] = {}
    for run in runs:
        real = os.path.realpath(run.path)
        if real in seen:
            raise InputError(f"{run.path}: given twice (as {seen[real]}): A/A runs must be different "
                             "runs, a file against itself has no noise")
        seen[real] = run.path
    medians: Dict[BenchKey, List[float]] = {}
    for run in runs:
        for res in run.results:
            if res.summary is not None:
                centre = res.summary.median if res.has_raw else res.summary.mean
                medians.setdefault(res.key, []).append(centre)
    benches: List[BenchNoise] = []
    all_changes: List[float] = []
    for (name, unit), meds in sorted(medians.items()):
        if len(meds) < 2 or any(m <= 0 for m in meds):
            continue
        changes = [abs(b / a - 1.0) for a, b in itertools.permutations(meds, 2)]
        all_changes.extend(changes)
        benches.append(BenchNoise(name, unit, len(meds), statistics.median(meds),
                                  _percentile(changes, 0.95), max(changes)))
    if not benches:
        raise InputError("no benchmark appears in two of the runs given: are they runs of one suite?")
    suggestion = max(0.01, math.ceil(_percentile(all_changes, 0.95) * 100 - 1e-9) / 100)
    pairs = list(itertools.combinations(range(len(runs)), 2))[:max_pairs]
    flagged_raw = flagged_suggested = 0
    for i, j in pairs:
        a, b = pool([runs[i]]), pool([runs[j]])
        for threshold in (0.0, suggestion):
            c = compare(a, b, CompareOptions(alpha=alpha, threshold=threshold, confidence=confidence))
            if any(r.verdict in (SLOWER, FASTER) for r in c.rows):
                if threshold == 0.0:
                    flagged_raw += 1
                else:
                    flagged_suggested += 1
    report = NoiseReport(len(runs), benches, suggestion, len(pairs), flagged_raw, flagged_suggested)
    if len(runs) < 10:
        report.notes.append(f"only {len(runs)} runs: the 95th percentile is rough; 10-20 A/A runs "
                            "give a steadier estimate")
    return report


def render_noise(report: NoiseReport, fmt: str = "table") -> str:
    """Render a ``NoiseReport`` as text (``table``) or JSON."""
    if fmt == "json":
        doc = {"runs": report.runs, "suggested_threshold": report.suggested_threshold,
               "pairs_tested": report.pairs_tested,
               "pairs_flagged_without_threshold": report.pairs_flagged_without_threshold,
               "pairs_flagged_with_suggestion": report.pairs_flagged_with_suggestion,
               "benchmarks": [vars(b) for b in report.benchmarks], "notes": report.notes}
        return json.dumps(doc, indent=2) + "\n"
    from profkit.bench.report import format_value

    width = max(len(b.name) for b in report.benchmarks)
    lines = [f"{'benchmark'.ljust(width)}  runs  median      p95 |Δ|  max |Δ|"]
    for b in report.benchmarks:
        lines.append(f"{b.name.ljust(width)}  {b.runs:>4}  {format_value(b.median, b.unit):<10}  "
                     f"{b.p95_change:>7.1%}  {b.max_change:>7.1%}")
    lines.append("")
    lines.append(f"A/A pairs of single runs: {report.pairs_flagged_without_threshold} of "
                 f"{report.pairs_tested} called significant with no threshold; "
                 f"{report.pairs_flagged_with_suggestion} with --threshold {report.suggested_threshold:.0%}")
    lines.append(f"suggested: --threshold {report.suggested_threshold:.0%} (95th percentile of run-to-run "
                 "change of the median; of the mean for summary-only files); comparing several interleaved runs per side needs less")
    lines += [f"note: {n}" for n in report.notes]
    return "\n".join(lines) + "\n"
