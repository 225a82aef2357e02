"""Heap profiler overhead on an allocation-heavy workload, beside tracemalloc and memray.

Run: ``.venv/bin/python benchmarks/bench_heap.py [--quick] [--json] [--rounds N]
[--modes plain,profkit,...] [--baseline-so FILE]``. ``--json`` swaps the pure allocation
loop for JSON round trips plus a regex scan (a more typical mix of work and allocation).
``--baseline-so`` adds the mode ``profkit-baseline``: ``heap.start()`` with another build
of the ``_heaphook`` extension (e.g. one built from an older commit), for an
interleaved before/after comparison. Each mode runs the same
workload in a fresh interpreter; rounds interleave all modes (rotating the order),
and each mode's ratio is the median over rounds of (mode time / plain time in the
same round). Only the workload is timed, in process CPU time (not interpreter
start-up or imports), and every run is pinned to one CPU with ``taskset`` when it
exists: the machines are shared and wall time is noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

WORKLOAD = r"""
import sys, time
mode = sys.argv[1]

def work_alloc():
    out = []
    for i in range(400_000):
        d = {"a": i, "b": str(i), "c": [i, i + 1, i + 2], "d": (i, "x")}
        out.append(d)
        if len(out) > 2000:
            out = []
        if i % 100 == 0:
            out.append(bytearray(4096))
    return len(out)

def work_json():
    import json, re
    doc = {"users": [{"id": i, "name": f"user{i}", "tags": ["a", "b", str(i)],
                      "score": i * 1.5} for i in range(200)]}
    words = re.compile(r"[a-z]+")
    n = 0
    for _ in range(150):
        text = json.dumps(doc)
        back = json.loads(text)
        n += len(words.findall(text)) + len(back["users"])
    return n

work = work_json if sys.argv[3] == "json" else work_alloc

stop = lambda: None
if mode == "profkit-baseline":  # another build of the hook, loaded under the real name
    import importlib.machinery, importlib.util
    loader = importlib.machinery.ExtensionFileLoader("profkit.collect._heaphook", sys.argv[4])
    spec = importlib.util.spec_from_loader(loader.name, loader)
    hook = importlib.util.module_from_spec(spec)
    loader.exec_module(hook)
    sys.modules["profkit.collect._heaphook"] = hook
if mode in ("profkit", "profkit-baseline"):
    from profkit.collect import heap
    heap.start()
    stop = heap.stop
elif mode == "profkit-tracemalloc":
    from profkit.collect import heap
    heap.start(backend="tracemalloc")
    stop = heap.stop
elif mode.startswith("tracemalloc"):
    import tracemalloc
    tracemalloc.start(int(mode[len("tracemalloc"):]))
elif mode.startswith("memray"):
    import memray
    tracker = memray.Tracker(sys.argv[2], trace_python_allocators=mode.endswith("-py"))
    tracker.__enter__()
    stop = lambda: tracker.__exit__(None, None, None)
t0 = time.process_time()
work()
elapsed = time.process_time() - t0
stop()
print(elapsed)
"""

MODES = ["plain", "profkit", "profkit-tracemalloc", "tracemalloc1", "tracemalloc25", "memray",
         "memray-py"]


def run(mode: str, tmpdir: str, n: int, workload: str, baseline: str) -> float:
    """Return the workload's CPU seconds in a fresh interpreter under ``mode``."""
    cmd = [sys.executable, "-c", WORKLOAD, mode, f"{tmpdir}/capture{n}-{mode}.bin", workload,
           baseline]
    if shutil.which("taskset") and os.cpu_count():
        cmd = ["taskset", "-c", str((os.cpu_count() or 1) - 1)] + cmd
    res = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="3 rounds")
    ap.add_argument("--json", action="store_true", help="the JSON + regex workload")
    ap.add_argument("--rounds", type=int, default=0, help="rounds (default 7)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated, plain first")
    ap.add_argument("--baseline-so", default="", help="another _heaphook build to compare")
    args = ap.parse_args()
    rounds = args.rounds or (3 if args.quick else 7)
    workload = "json" if args.json else "alloc"
    modes = ["plain"] + [m for m in args.modes.split(",") if m and m != "plain"]
    if args.baseline_so and "profkit-baseline" not in modes:
        modes.append("profkit-baseline")
    times: dict[str, list[float]] = {m: [] for m in modes}
    with tempfile.TemporaryDirectory() as tmpdir:
        for r in range(rounds):
            order = modes[r % len(modes):] + modes[: r % len(modes)]
            for m in order:
                times[m].append(run(m, tmpdir, r, workload, args.baseline_so))
    what = ("json.dumps/loads + regex (a typical mix)" if workload == "json"
            else "allocation-heavy workload")
    print(f"python {sys.version.split()[0]}; {what}, {rounds} interleaved "
          "rounds, CPU seconds of the workload")
    print(f"  {'mode':22s} {'median s':>9s} {'ratio vs plain':>15s}")
    for m in modes:
        ratios = [t / p for t, p in zip(times[m], times["plain"])]
        print(f"  {m:22s} {statistics.median(times[m]):9.3f} {statistics.median(ratios):15.3f}")
    if "profkit-baseline" in times and "profkit" in times:
        paired = [a / b for a, b in zip(times["profkit"], times["profkit-baseline"])]
        print(f"  profkit / profkit-baseline, median of same-round ratios: "
              f"{statistics.median(paired):.3f}")


if __name__ == "__main__":
    main()
