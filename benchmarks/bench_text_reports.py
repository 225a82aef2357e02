"""Benchmark: ``profkit traces|tags|raw|comments|list|callgrind`` against go's pprof.

Runs both real CLIs as subprocesses on the same file, interleaved (profkit, pprof,
profkit, pprof ...), and prints per report the median wall time, the median CPU
time (user + system, from ``os.wait4``) and the peak RSS of each, and the ratios
profkit/pprof (< 1.0 = profkit is better). CPU time is the figure to quote on a
loaded machine; wall time only when the machine is idle. pprof is run as the tool
binary itself (``go tool -n pprof``), so the ``go`` launcher's start-up is not
counted against it. Output goes to /dev/null (callgrind: to a temporary file).

    .venv/bin/python benchmarks/bench_text_reports.py [--runs 5] [--file large.cpu]
        [--reports traces,tags,raw,comments,list,callgrind]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_top import pprof_binary, precompile  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"

#: report -> (profkit argv after the command name, pprof flags); {out} is a temp file
REPORTS: Dict[str, Tuple[List[str], List[str]]] = {
    "traces": ([], ["-traces"]),
    "tags": ([], ["-tags"]),
    "raw": ([], ["-raw"]),
    "comments": ([], ["-comments"]),
    "list": (["main\\.main"], ["-list", "main\\.main"]),
    "callgrind": (["--write", "{out}"], ["-callgrind", "-output", "{out}"]),
}


def run_child(argv: List[str]) -> Tuple[float, float, int]:
    """Run ``argv`` (stdout to /dev/null); return (wall s, CPU s, peak RSS bytes)."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        proc = subprocess.Popen(argv, stdout=null, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(argv)}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


def bench(report: str, path: Path, runs: int, go: List[str], tmp: Path) -> Dict[str, float]:
    """Return the medians and peaks of profkit and pprof for ``report`` on ``path``."""
    pk_args, go_args = REPORTS[report]
    out = str(tmp / f"{report}.out")
    pk_argv = [sys.executable, "-m", "profkit", report,
               *[a.format(out=out) for a in pk_args], str(path)]
    go_argv = [*go, *[a.format(out=out) for a in go_args], str(path)]
    precompile()
    pk: List[Tuple[float, float, int]] = []
    gg: List[Tuple[float, float, int]] = []
    for _ in range(runs):
        pk.append(run_child(pk_argv))
        gg.append(run_child(go_argv))
    res = {
        "pk_wall": statistics.median(r[0] for r in pk), "go_wall": statistics.median(r[0] for r in gg),
        "pk_cpu": statistics.median(r[1] for r in pk), "go_cpu": statistics.median(r[1] for r in gg),
        "pk_rss": max(r[2] for r in pk), "go_rss": max(r[2] for r in gg),
    }
    res["cpu_ratio"] = statistics.median(a[1] / b[1] for a, b in zip(pk, gg))
    res["wall_ratio"] = statistics.median(a[0] / b[0] for a, b in zip(pk, gg))
    return res


def main() -> int:
    """Run the benchmark and print one line per report with the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--file", default=str(CORPUS / "large.cpu"))
    ap.add_argument("--reports", default=",".join(REPORTS))
    args = ap.parse_args()
    go = pprof_binary()
    path = Path(args.file)
    with tempfile.TemporaryDirectory(prefix="bench-text-") as tmp:
        os.environ.setdefault("PPROF_TMPDIR", tmp)
        os.environ.setdefault("HOME", tmp)
        print(f"file {path.name}, {args.runs} interleaved pairs, load {os.getloadavg()[0]:.1f}")
        print(f"{'report':<10} {'pk cpu':>7} {'go cpu':>7} {'cpu ratio':>9} {'pk wall':>8} "
              f"{'go wall':>8} {'wall ratio':>10} {'pk RSS':>8} {'go RSS':>8}")
        for report in args.reports.split(","):
            r = bench(report, path, args.runs, go, Path(tmp))
            print(f"{report:<10} {r['pk_cpu']:7.2f} {r['go_cpu']:7.2f} {r['cpu_ratio']:9.2f} "
                  f"{r['pk_wall']:8.2f} {r['go_wall']:8.2f} {r['wall_ratio']:10.2f} "
                  f"{r['pk_rss'] / 2**20:7.0f}M {r['go_rss'] / 2**20:7.0f}M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
