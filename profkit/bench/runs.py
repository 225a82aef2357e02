"""Facts about runs as a whole: where they ran, and in what order.

``machine_note`` compares the stable parts of the machine description only (not pytest-benchmark's
``cpu.hz_actual``, whose jitter makes pytest-benchmark warn on one machine, issue #255).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from typing import List, Optional, Sequence

from profkit.bench.samples import BenchRun

_STABLE_KEYS = ("node", "processor", "machine", "system", "python_implementation", "python_version",
                "hostname", "cpu_model_name", "goos", "goarch", "cpu")


def machine_note(base: Sequence[BenchRun], new: Sequence[BenchRun]) -> Optional[str]:
    """Return a one-line note when base and new ran on different machines, else None."""
    diffs = []
    for key in _STABLE_KEYS:
        b = {r.machine[key] for r in base if key in r.machine}
        n = {r.machine[key] for r in new if key in r.machine}
        if b and n and b != n:
            diffs.append(f"{key} {'/'.join(sorted(b))} vs {'/'.join(sorted(n))}")
    if not diffs:
        return None
    return ("base and new ran on different machines (" + "; ".join(diffs[:3]) + "): differences may "
            "come from the machine; run both in the same job")


def machine_id(run: BenchRun) -> str:
    """Return which machine a run belongs to, for keeping histories apart.

    pytest-benchmark's storage layout names it: ``.benchmarks/<machine-id>/NNNN_*.json`` gives
    ``<machine-id>``. Otherwise the ``machine_info`` node (host name), else ``""`` (unknown).
    """
    parent = os.path.dirname(os.path.abspath(run.path))
    if os.path.basename(os.path.dirname(parent)) == ".benchmarks":
        return os.path.basename(parent)
    return run.machine.get("node", "")


_FILENAME_TIME = re.compile(r"_(\d{8})_(\d{6})")


def run_time(run: BenchRun) -> Optional[datetime]:
    """Return when a run happened (its ``datetime``, else the autosave file name), UTC-aware."""
    if run.datetime:
        try:
            stamp = datetime.fromisoformat(run.datetime.replace("Z", "+00:00"))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    m = _FILENAME_TIME.search(run.path)
    if m:
        return datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    return None


def ordered(runs: Sequence[BenchRun]) -> List[BenchRun]:
    """Return runs sorted by time (runs without a time keep their file order, after timed ones)."""
    indexed = list(enumerate(runs))
    far = datetime.max.replace(tzinfo=timezone.utc)
    return [r for _, r in sorted(indexed, key=lambda ir: (run_time(ir[1]) or far, ir[0]))]
