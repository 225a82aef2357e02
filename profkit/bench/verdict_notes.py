"""Footnotes of a ``Comparison`` and the one-line "gate is blind" warning.

Pure functions of a finished comparison; ``verdict.compare`` calls ``notes`` once, the CLI prints
``blind_warning`` on stderr. The wording is part of the interface (tests and docs quote it).
"""

from __future__ import annotations

from typing import List, Optional

from profkit.bench import stats
from profkit.bench.verdict import (
    BASE_ONLY,
    NEW_ONLY,
    RAW_U,
    RUN_U,
    TOO_FEW,
    WELCH_SUMMARY,
    Comparison,
    Row,
)

SINGLE_RUN = ("single run per side: p-values ignore run-to-run noise; pool several runs per side "
              "(see bench noise)")


def _sizes(rows: List[Row]) -> str:
    """Return ``n=4 runs`` / ``n=3-5 rounds`` for the smaller side of ``rows``."""
    by_unit: dict = {}
    for r in rows:
        if r.base is None or r.new is None:
            continue
        unit = "runs" if r.method == RUN_U else "rounds"
        by_unit.setdefault(unit, []).append(min(r.base.n, r.new.n))
    parts = []
    for unit, ns in sorted(by_unit.items()):
        span = f"{min(ns)}" if min(ns) == max(ns) else f"{min(ns)}-{max(ns)}"
        parts.append(f"n={span} {unit}")
    return " / ".join(parts) or "n=0"


def gate_status(c: Comparison) -> Optional[str]:
    """Return the note saying the gate could not decide (or is blind), or None when it could."""
    blind, undecided = c.blind, c.undecided
    if not blind:
        return None
    text = (f"gate is blind: {len(blind)} gating benchmark(s) can't reach significance with "
            f"{_sizes(blind)} per side; need >= {c.needed} per side")
    if undecided:
        worst = max(undecided, key=lambda r: abs(r.change or 0.0))
        text += (f"; the gate could not decide on {len(undecided)} that changed beyond the "
                 f"{c.options.threshold * 100:.3g}% threshold in the slower direction (e.g. {worst.name} "
                 f"{worst.change:+.1%})")
    return text


def threshold_status(c: Comparison) -> Optional[str]:
    """Return the note saying the gate cannot see the threshold on some benchmarks, or None."""
    rows = c.insensitive
    if not rows:
        return None
    worst = max(rows, key=lambda r: r.mde or 0.0)
    return (f"gate cannot see the {c.options.threshold * 100:.3g}% threshold on {len(rows)} gating "
            f"benchmark(s): with the noise in these samples the smallest slowdown they could show "
            f"is up to {worst.mde:.1%} ({worst.name}); use more runs, a quieter machine or "
            "instruction counts (pytest --profkit-instructions)")


def insensitive_warning(c: Comparison) -> Optional[str]:
    """Return the stderr warning for ``threshold_status`` plus what the exit code means, or None."""
    status = threshold_status(c)
    if status is None:
        return None
    if c.options.strict:
        return status + (" (--strict: exit 2)" if c.exit_code == 2 else "")
    return status + " (--strict makes this exit 2)"


def blind_warning(c: Comparison) -> Optional[str]:
    """Return the stderr warning line (``gate_status`` plus what the exit code means), or None."""
    status = gate_status(c)
    if status is None:
        return None
    if c.options.strict:
        return status + (" (--strict: exit 2)" if c.exit_code == 2 else "")
    return status + " (exit code reflects no evidence; --strict makes this exit 2)"


def notes(c: Comparison, tested: int) -> List[str]:
    """Return the footnotes of ``c`` (``tested`` = size of the Holm family)."""
    out = []
    opts = c.options
    one_sided = [r for r in c.rows if r.verdict in (BASE_ONLY, NEW_ONLY)]
    if one_sided:
        out.append(f"{len(one_sided)} benchmark(s) present on one side only; geomean covers the "
                   "benchmarks present on both sides")
    if any(r.method == RUN_U for r in c.rows):
        out.append("n counts runs (files): with several runs per side the U test compares per-run "
                   "medians, so process-to-process noise is part of the test (--sample-unit round "
                   "pools rounds instead)")
    if any(r.single_run for r in c.rows):
        out.append(SINGLE_RUN)
    if any(r.method in (RAW_U, WELCH_SUMMARY) and not r.single_run and r.base and r.base.runs > 1
           for r in c.rows):
        out.append("--sample-unit round pools the rounds of several runs as independent samples: "
                   "p-values ignore run-to-run noise")
    if any(not (r.base and r.base.raw and r.new and r.new.raw) and r.method for r in c.rows):
        out.append("summary only: some files hold no raw samples (write them with --benchmark-json "
                   "or --benchmark-save-data)")
    if any(r.method == WELCH_SUMMARY for r in c.rows):
        out.append("rows marked Welch: no raw data stored, so Welch's t-test on mean/stddev/rounds; "
                   "their centre, interval (mean ± t·sd/√n), change and verdict are about the "
                   "means, and they gate like other rows")
    if tested > 1:
        out.append(f"p-values Holm-adjusted across {tested} benchmarks (alpha {opts.alpha:g})")
    if any(r.verdict == TOO_FEW for r in c.rows):
        out.append("too few samples: those rows cannot be significant whatever the data; rerun with "
                   f"more runs or rounds (>= {c.needed} per side)")
    status = gate_status(c)
    if status:
        out.append(status)
    if any(r.mde is not None for r in c.rows):
        out.append(f"MDE: the smallest slowdown each benchmark's samples could call significant "
                   f"(noise estimated from them; alpha {opts.alpha:g} over the Holm family)")
    sees = threshold_status(c)
    if sees:
        out.append(sees)
    ci_n = stats.ci_min_samples(opts.confidence)
    if any(s is not None and s.ci is None and 0 < s.n < ci_n and s.center == "median"
           for r in c.rows for s in (r.base, r.new)):
        out.append(f"± ∞: need >= {ci_n} samples for a confidence interval at level {opts.confidence:g}")
    return out
