"""CPU profiler overhead beside py-spy and pyinstrument, on the same workloads, same run.

Run: ``.venv/bin/python benchmarks/bench_collect.py [--pairs N] [--quick]``.

Two workloads, each a fresh interpreter that times its own work section
(``perf_counter`` around it, so interpreter start-up and profile writing are out):

- ``cpu``: recursive Fibonacci, one thread (deep-ish stacks, pure bytecode);
- ``threads``: 4 threads sharing the CPU (GIL hand-offs) plus a lock-protected counter.

Variants: plain; ``profkit run --cpu`` at 100 Hz and 1000 Hz; ``py-spy record`` at
100 Hz; ``pyinstrument`` (its default 1 ms interval). Every round runs all variants in
a shuffled order. Figures: the median over rounds of (variant / plain of the same
round), the ratio of best times (robust when the machine is shared), and the same
median for the target's process CPU time (for py-spy, its own process is not counted),
and the whole command's wall and CPU time (start-up and profile writing included; for
py-spy its own process too). 1.00 means no overhead. profkit's achieved sampling rate
is read from its profile's comment.

Then profkit alone, A/B inside one process: the same work with the profiler off and on,
in back-to-back segments of ~0.5 s, ``--ab-pairs`` pairs (40), the order within a pair
alternating (off-on, on-off: on the four-thread workload, two runs of 150 pairs each read
1.026 and 1.016 off-then-on, 1.018 and 1.000 on-then-off); the median on/off ratio is the profiler's
marginal cost with machine load largely cancelled (start-up excluded). Between runs of
30 pairs this figure moved by ±3 % with four threads; with 150 pairs, by ±1 %. An "on"
segment ends when the work does, before ``stop()``: the sampler's last batch of ticks (up to
30 ms of them) is taken in ``stop()``, a few per cent of its cost in 0.5 s segments, more in
short ones (why the segments are not 0.1 s).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple

CPU_WORKLOAD = """
import time
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
t0, c0 = time.perf_counter(), time.process_time()
for _ in range(SCALE):
    fib(24)
print("WORK", time.perf_counter() - t0, time.process_time() - c0)
"""

THREADS_WORKLOAD = """
import threading, time
lock = threading.Lock()
total = [0]
def work(n):
    for i in range(n):
        x = 0
        for j in range(200):
            x += j * i
        with lock:
            total[0] += 1
t0, c0 = time.perf_counter(), time.process_time()
ts = [threading.Thread(target=work, args=(SCALE * 150,)) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print("WORK", time.perf_counter() - t0, time.process_time() - c0)
"""


def variants(tmp: str) -> Dict[str, List[str]]:
    """Return the command prefix of each variant (the workload path is appended)."""
    py = sys.executable
    bindir = os.path.dirname(py)
    pyspy = shutil.which("py-spy") or shutil.which("py-spy", path=bindir)
    out = {
        "plain": [py],
        "profkit 100 Hz": [py, "-m", "profkit", "run", "--cpu", f"{tmp}/p100.pb.gz", "--", py],
        "profkit 1000 Hz": [
            py,
            "-m",
            "profkit",
            "run",
            "--rate",
            "1000",
            "--cpu",
            f"{tmp}/p1k.pb.gz",
            "--",
            py,
        ],
    }
    if pyspy:
        out["py-spy 100 Hz"] = [
            pyspy,
            "record",
            "-r",
            "100",
            "-f",
            "speedscope",
            "-o",
            f"{tmp}/s.json",
            "--",
            py,
        ]
    try:
        import pyinstrument  # noqa: F401

        out["pyinstrument"] = [py, "-m", "pyinstrument", "-o", f"{tmp}/pi.txt"]
    except ImportError:
        pass
    return out


def _comment(cmd: List[str]) -> str:
    if "--cpu" not in cmd:
        return ""
    from profkit.model import load

    return " ".join(load(cmd[cmd.index("--cpu") + 1]).comments)


def sampler_share(cmd: List[str], work_cpu: float) -> float:
    """Return the profkit sampler's own CPU time / the work's CPU time, from the comment."""
    m = re.search(r"sampler CPU ([\d.]+) ms", _comment(cmd))
    return float(m.group(1)) / 1e3 / work_cpu if m else float("nan")


def achieved_hz(cmd: List[str]) -> float:
    """Return the sampling rate profkit achieved (from the profile comment), NaN otherwise."""
    m = re.search(r"achieved ([\d.]+) Hz", _comment(cmd))
    return float(m.group(1)) if m else float("nan")


def work_seconds(cmd: List[str]) -> Tuple[float, float, float, float]:
    """Run one command; return the (wall, process CPU) seconds the workload printed, then
    the whole command's wall and CPU seconds (start-up, profile writing and, for py-spy,
    py-spy's own process included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=600)
    whole_wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    whole_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    for line in res.stdout.splitlines():
        if line.startswith("WORK "):
            _, wall, cpu = line.split()
            return float(wall), float(cpu), whole_wall, whole_cpu
    raise RuntimeError(f"no WORK line from {cmd}: {res.stdout!r} {res.stderr!r}")


def measure(workload: str, pairs: int, tmp: str) -> Dict[str, Tuple[float, ...]]:
    """Return per variant: median paired wall ratio, best/best wall, median CPU ratio,
    median whole-command wall and CPU ratios, the median share of the sampler's own CPU
    and the median achieved rate (profkit only)."""
    vs = variants(tmp)
    keys = ("wall", "cpu", "whole_wall", "whole_cpu", "share", "hz")
    runs: Dict[str, Dict[str, List[float]]] = {n: {k: [] for k in keys} for n in vs}
    for _ in range(pairs):
        order = list(vs)
        random.shuffle(order)
        for name in order:
            wall, cpu, whole_wall, whole_cpu = work_seconds([*vs[name], workload])
            r = runs[name]
            r["wall"].append(wall)
            r["cpu"].append(cpu)
            r["whole_wall"].append(whole_wall)
            r["whole_cpu"].append(whole_cpu)
            r["share"].append(sampler_share(vs[name], cpu))
            r["hz"].append(achieved_hz(vs[name]))
    plain = runs["plain"]

    def ratio(name: str, key: str) -> float:
        return statistics.median(v / p for v, p in zip(runs[name][key], plain[key]))

    out = {}
    for name in vs:
        out[name] = (
            ratio(name, "wall"),
            min(runs[name]["wall"]) / min(plain["wall"]),
            ratio(name, "cpu"),
            ratio(name, "whole_wall"),
            ratio(name, "whole_cpu"),
            statistics.median(runs[name]["share"]),
            statistics.median(runs[name]["hz"]),
        )
    return out


INTERLEAVED = """
import statistics, sys, threading, time
from profkit.collect.cpu import CpuProfiler

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

SCALE = int(sys.argv[4])

def cpu_work(n=12 * SCALE):
    for _ in range(n):
        fib(24)

def threaded_work():
    ts = [threading.Thread(target=cpu_work, args=(3 * SCALE,)) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()

work = cpu_work if sys.argv[1] == "cpu" else threaded_work
rate = float(sys.argv[2])
ratios = []
for k in range(int(sys.argv[3])):
    pair = {}
    for on in ((False, True) if k % 2 == 0 else (True, False)):  # order alternates
        prof = CpuProfiler(rate).start() if on else None
        w0 = time.perf_counter()
        work()
        pair[on] = time.perf_counter() - w0
        if prof is not None:
            prof.stop()
    ratios.append(pair[True] / pair[False])
print(statistics.median(ratios))
"""


def interleaved(workload: str, rate: int, pairs: int, scale: int) -> float:
    """Median wall ratio on/off of back-to-back segments in one process (load cancels out)."""
    res = subprocess.run(
        [sys.executable, "-c", INTERLEAVED, workload, str(rate), str(pairs), str(scale)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return float(res.stdout.strip())


def main() -> int:
    """Print one table row per workload and variant."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=7, help="shuffled rounds (default 7)")
    ap.add_argument("--quick", action="store_true", help="3 rounds of a shorter workload")
    ap.add_argument("--ab-pairs", type=int, default=40, help="in-process A/B pairs (default 40)")
    args = ap.parse_args()
    scales = {"cpu": 30, "threads": 40} if args.quick else {"cpu": 80, "threads": 100}
    pairs = 3 if args.quick else args.pairs
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {pairs} rounds per figure")
    print(
        "| workload | variant | wall ratio (median of rounds) | wall ratio (best/best) "
        "| target CPU ratio | whole-command wall ratio | whole-command CPU ratio "
        "| sampler's own CPU / work CPU | achieved rate |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory(prefix="profkit-bench-") as tmp:
        for name, source in (("cpu", CPU_WORKLOAD), ("threads", THREADS_WORKLOAD)):
            path = os.path.join(tmp, f"{name}_workload.py")
            with open(path, "w") as f:
                f.write(source.replace("SCALE", str(scales[name])))
            for variant, row in measure(path, pairs, tmp).items():
                med, best, cpu, whole_wall, whole_cpu, own, hz = row
                own_text = "" if own != own else f"{own * 100:.2f} %"  # NaN: not profkit
                hz_text = "" if hz != hz else f"{hz:.0f} Hz"
                print(
                    f"| {name} | {variant} | {med:.3f} | {best:.3f} | {cpu:.3f} "
                    f"| {whole_wall:.3f} | {whole_cpu:.3f} | {own_text} | {hz_text} |"
                )
    n = 10 if args.quick else args.ab_pairs
    scale = 1 if args.quick else 5
    print(f"\nprofkit alone, in one process: {n} back-to-back pairs of ~{0.1 * scale:.1f} s "
          "segments, order alternating")
    print("| workload | rate | wall ratio on/off (median of pairs) |")
    print("| --- | --- | --- |")
    for name in ("cpu", "threads"):
        for rate in (100, 1000):
            print(f"| {name} | {rate} Hz | {interleaved(name, rate, n, scale):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
