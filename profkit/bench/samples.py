"""Benchmark results as loaded from files, and pooling of several files per side.

Every loader (pytest-benchmark, pyperf, Go text) produces ``BenchRun`` objects: one per input
file, each holding ``BenchResult`` rows keyed by ``(name, unit)``. A result carries either its raw
samples (``values``, one per round / value / line) or, when the file kept only summary statistics,
a ``Summary``. Nothing here imports scipy; these are plain containers.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

#: A benchmark is identified across files by its name and the unit of its values.
BenchKey = Tuple[str, str]


@dataclass(frozen=True)
class Summary:
    """Summary statistics of one benchmark in one file (what pytest-benchmark always stores).

    Units are those of the owning result (seconds per iteration for timings).
    """

    n: int
    median: float
    mean: float
    stddev: float
    min: float
    max: float
    q1: Optional[float] = None
    q3: Optional[float] = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        """Summarise raw values (at least one); the input is not modified."""
        if not values:
            raise ValueError("cannot summarise zero values")
        ordered = sorted(values)
        n = len(ordered)
        mean = math.fsum(ordered) / n
        stddev = math.sqrt(math.fsum((v - mean) ** 2 for v in ordered) / (n - 1)) if n > 1 else 0.0
        q1 = q3 = None
        if n >= 2:
            q1, _, q3 = statistics.quantiles(ordered, n=4)
        return cls(n, statistics.median(ordered), mean, stddev, ordered[0], ordered[-1], q1, q3)


@dataclass
class BenchResult:
    """One benchmark in one file.

    Attributes:
        name: the name benchmarks are matched by (pytest-benchmark's ``fullname``, pyperf's
            benchmark name, Go's name without the ``-GOMAXPROCS`` suffix).
        unit: unit of ``values`` (``"s"`` = seconds per iteration; Go's ``B/op``, ``MB/s``...).
        values: raw samples, empty when the file stored only a summary.
        summary: always set (computed from ``values`` when they exist).
        higher_is_better: True for throughput units (``MB/s``, ``ops/s``).
        extra: pytest-benchmark's ``extra_info`` (where the profkit plugin records its profile).
    """

    name: str
    unit: str
    values: List[float]
    summary: Optional[Summary]
    higher_is_better: bool = False
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> BenchKey:
        """The matching key ``(name, unit)``."""
        return (self.name, self.unit)

    @property
    def has_raw(self) -> bool:
        """True when raw samples were stored."""
        return bool(self.values)


@dataclass
class BenchRun:
    """All benchmarks of one input file, plus what the file says about where it ran."""

    path: str
    format: str
    results: List[BenchResult]
    datetime: Optional[str] = None
    commit: Optional[str] = None
    machine: Dict[str, str] = field(default_factory=dict)
    branch: Optional[str] = None


@dataclass
class PooledBench:
    """One benchmark on one side of a comparison, pooled over that side's files.

    ``values`` concatenates the raw samples of every file when all of them stored raw samples.
    ``run_summaries`` keeps one summary per file (what the summary-only fallback works from).
    """

    name: str
    unit: str
    values: List[float]
    run_summaries: List[Summary]
    raw: bool
    higher_is_better: bool = False

    @property
    def runs(self) -> int:
        """Number of files this benchmark was found in."""
        return len(self.run_summaries)


def pool(runs: Sequence[BenchRun]) -> Dict[BenchKey, PooledBench]:
    """Pool the results of several files of one side, keyed by ``(name, unit)``.

    Raw samples are pooled only when every file has them for that benchmark; otherwise the
    benchmark is marked summary-only (``raw=False``) and its raw values are dropped, so that
    the statistics never silently mix raw and summary data. Inputs are not modified.
    """
    out: Dict[BenchKey, PooledBench] = {}
    for run in runs:
        for res in run.results:
            cur = out.get(res.key)
            if cur is None:
                cur = PooledBench(res.name, res.unit, [], [], True, res.higher_is_better)
                out[res.key] = cur
            if res.has_raw and cur.raw:
                cur.values.extend(res.values)
            elif res.summary is None:
                continue  # zero samples in this file: nothing to add
            else:
                cur.raw = False
                cur.values = []
            if res.summary is not None:
                cur.run_summaries.append(res.summary)
    return out
