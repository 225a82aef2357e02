"""What the instruction mode costs per benchmark, in CPU seconds (robust to a busy machine).

Run: ``.venv/bin/python benchmarks/bench_gate_cost.py [--repeat 3]``. On tests/testdata/bench/suite.py
(three benchmarks) it measures the CPU time (user + sys of the child processes) of:

* ``pytest`` in wall mode (``--benchmark-timer=time.process_time``, pytest-benchmark's defaults);
* ``pytest --profkit-instructions`` with the default 5 rounds, and with 25 rounds;
* ``pytest --profkit-instructions -k no_such_test`` (start-up, priming and collection only).

and prints: the fixed cost of a run (start-up under valgrind), the cost per benchmark (all of it,
then per counted call: (25-round run - 5-round run) / (20 x 3)), and the slowdown of a counted call
against the same call natively (the wall run's median per call, process time). Median of
``--repeat`` interleaved repetitions.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

SUITE = Path(__file__).resolve().parent.parent / "tests" / "testdata" / "bench" / "suite.py"
BASE = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"]
BENCHMARKS = 3


def cpu_of(cmd: List[str], cwd: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if proc.returncode not in (0, 5):  # 5: no test selected (the start-up-only case)
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-gate-cost-"))
    shutil.copy(SUITE, work / "test_suite.py")
    cases = {
        "wall": BASE + ["--benchmark-timer=time.process_time", f"--benchmark-json={work}/wall.json"],
        "instr5": BASE + ["--profkit-instructions"],
        "instr25": BASE + ["--profkit-instructions", "--profkit-instructions-rounds", "25"],
        "startup": BASE + ["--profkit-instructions", "-k", "no_such_test"],
    }
    cpu: Dict[str, List[float]] = {k: [] for k in cases}
    for _ in range(args.repeat):
        for name, cmd in cases.items():
            cpu[name].append(cpu_of(cmd, work))
    med = {k: statistics.median(v) for k, v in cpu.items()}
    doc = json.loads((work / "wall.json").read_text())
    native = statistics.fmean(statistics.median(b["stats"]["data"]) for b in doc["benchmarks"])
    per_call = (med["instr25"] - med["instr5"]) / (20 * BENCHMARKS)
    for name in cases:
        print(f"{name:8s} CPU {med[name]:6.2f} s  ({', '.join(f'{v:.2f}' for v in cpu[name])})")
    print(f"fixed cost of an instruction run (start-up, priming, collection): {med['startup']:.2f} s CPU")
    print(f"per benchmark, default 3 warm-up + 5 counted calls: "
          f"{(med['instr5'] - med['startup']) / BENCHMARKS:.2f} s CPU")
    print(f"per counted call: {per_call * 1e3:.1f} ms CPU vs {native * 1e3:.2f} ms natively: "
          f"{per_call / native:.0f}x")


if __name__ == "__main__":
    main()
