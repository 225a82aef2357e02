"""Speed of ``profkit bench compare`` on two runs of 500 benchmarks with 100 raw samples each.

Run: ``.venv/bin/python benchmarks/bench_bench.py [--repeat N]``. Writes two pytest-benchmark
``--benchmark-json``-shaped files (500 benchmarks, 100 rounds in ``stats.data``, 25 of them 30 %
slower), then times whole processes, interleaved: ``profkit bench compare BASE NEW`` (terminal
table of the 25 rows with a verdict, ``--format json`` with all 500, ``--all`` table) and the peer ``pytest-benchmark compare BASE NEW`` on the same files.
Prints the median wall time of each and the ratio profkit/peer. Target: under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

BENCHMARKS = 500
SAMPLES = 100


def write_run(path: Path, seed: int, slow: bool) -> None:
    """Write one pytest-benchmark JSON file with raw data for every benchmark."""
    rng = random.Random(seed)
    benches = []
    for i in range(BENCHMARKS):
        centre = 1e-5 * (1 + i % 37) * (1.3 if slow and i % 20 == 0 else 1.0)
        data = [centre * rng.lognormvariate(0, 0.05) for _ in range(SAMPLES)]
        s = sorted(data)
        mean = statistics.fmean(s)
        benches.append({
            "group": None, "name": f"test_case_{i}", "fullname": f"tests/test_perf.py::test_case_{i}",
            "params": None, "param": None, "extra_info": {},
            "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 100,
                        "max_time": 1.0, "min_time": 5e-06, "warmup": False},
            "stats": {"min": s[0], "max": s[-1], "mean": mean, "stddev": statistics.stdev(s),
                      "rounds": SAMPLES, "median": statistics.median(s), "iqr": s[74] - s[24],
                      "q1": s[24], "q3": s[74], "iqr_outliers": 0, "stddev_outliers": 0,
                      "outliers": "0;0", "ld15iqr": s[0], "hd15iqr": s[-1], "ops": 1 / mean,
                      "total": sum(s), "iterations": 1, "data": data},
        })
    doc = {"machine_info": {"node": "bench", "python_implementation": "CPython"},
           "commit_info": {"id": f"{seed:040x}", "branch": "main"},
           "benchmarks": benches, "datetime": "2026-01-01T00:00:00+00:00", "version": "5.2.3"}
    path.write_text(json.dumps(doc))


def wall(cmd: List[str]) -> float:
    """Run ``cmd`` once; return its wall time (exit codes 0/1 are both fine for compare)."""
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return elapsed


def breakdown(base: Path, new: Path) -> Dict[str, float]:
    """Time load / compare / render in this process (imports done first)."""
    import scipy.stats  # noqa: F401

    from profkit.bench import report
    from profkit.bench.load import load_runs
    from profkit.bench.samples import pool
    from profkit.bench.verdict import compare

    report.render_table  # noqa: B018
    out: Dict[str, float] = {}
    t0 = time.perf_counter()
    b, n = pool(load_runs([base])), pool(load_runs([new]))
    t1 = time.perf_counter()
    comparison = compare(b, n)
    t2 = time.perf_counter()
    report.render_json(comparison)
    t3 = time.perf_counter()
    report.render_table(comparison)
    t4 = time.perf_counter()
    out.update(load=t1 - t0, compare=t2 - t1, json=t3 - t2, table=t4 - t3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved repetitions (default 5)")
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        base, new = Path(tmp) / "base.json", Path(tmp) / "new.json"
        write_run(base, 1, slow=False)
        write_run(new, 2, slow=True)
        env_cmds: Dict[str, List[str]] = {
            "profkit bench compare (table)": [str(bindir / "profkit"), "bench", "compare", str(base), str(new)],
            "profkit bench compare --format json": [str(bindir / "profkit"), "bench", "compare", str(base),
                                                    str(new), "--format", "json"],
            "profkit bench compare --all (500 rows)": [str(bindir / "profkit"), "bench", "compare",
                                                       str(base), str(new), "--all"],
            "pytest-benchmark compare (peer)": [str(bindir / "pytest-benchmark"), "compare", str(base), str(new)],
        }
        times: Dict[str, List[float]] = {k: [] for k in env_cmds}
        times["python -c 'import scipy.stats' (floor)"] = []
        for _ in range(args.repeat):
            for name, cmd in env_cmds.items():
                times[name].append(wall(cmd))
            times["python -c 'import scipy.stats' (floor)"].append(
                wall([sys.executable, "-c", "import scipy.stats"]))
        in_process = breakdown(base, new)
    print(f"{BENCHMARKS} benchmarks x {SAMPLES} raw samples per side, {args.repeat} interleaved runs, "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    medians = {k: statistics.median(v) for k, v in times.items()}
    for name, value in medians.items():
        print(f"  {name:<38} median {value:6.3f} s  (min {min(times[name]):.3f} s)")
    print("  in-process, after imports: " + ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in in_process.items()))
    peer = medians["pytest-benchmark compare (peer)"]
    for name in list(medians)[:3]:
        print(f"  ratio {name} / pytest-benchmark compare: {medians[name] / peer:.2f}")
    verdict = "OK" if max(medians[n] for n in list(medians)[:3]) < 2.0 else "OVER BUDGET"
    print(f"target < 2 s per comparison: {verdict}")


if __name__ == "__main__":
    main()
