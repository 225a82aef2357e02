"""Lock profiler cost: uncontended acquire/release pairs and a contended threaded workload.

Run: ``.venv/bin/python benchmarks/bench_locks.py [--quick]``. Prints ns per pair for a
plain ``threading.Lock`` and for the profiled locks (C fast path and its pure-Python
twin; ``acquire(); release()`` and ``with``), ns to create a lock (``Lock()``,
``RLock()``, ``asyncio.Lock()``) plain and while profiling, ns per uncontended
``async with`` of ``asyncio.Lock`` and ``asyncio.Semaphore``, then the wall-time ratio profiled/plain
of 8 threads on one lock, as the median of interleaved pairs of subprocess runs (each
run a fresh interpreter), pinned to one CPU with ``taskset`` when it exists (on 2
cores the unpinned workload is bimodal, see the field notes).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import timeit
from typing import Any, Callable

WORKLOAD = r"""
import sys, threading, time
if sys.argv[1] == "on":
    from profkit.collect import locks
    locks.enable()
lock = threading.Lock()
counter = [0]
def work():
    for _ in range(40000):
        with lock:
            counter[0] += 1
            x = 0
            for i in range(20):
                x += i
t0 = time.perf_counter()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(time.perf_counter() - t0)
"""


def ns_per_pair(locks_by_name: dict[str, object], number: int) -> dict[str, tuple[float, float]]:
    """Return name -> (ns per acquire()+release(), ns per ``with``), best of 7 interleaved."""
    best: dict[str, list[float]] = {name: [float("inf"), float("inf")] for name in locks_by_name}
    for _ in range(7):
        for name, lock in locks_by_name.items():
            g = {"a": lock.acquire, "r": lock.release, "l": lock}  # type: ignore[attr-defined]
            acq = timeit.timeit("a(); r()", globals=g, number=number) / number * 1e9
            wth = timeit.timeit("with l: pass", globals=g, number=number) / number * 1e9
            best[name][0] = min(best[name][0], acq)
            best[name][1] = min(best[name][1], wth)
    return {name: (v[0], v[1]) for name, v in best.items()}


def creation_ns(number: int) -> dict[str, tuple[float, float]]:
    """Return factory name -> (plain ns, profiled ns) per call, best of 7 interleaved."""
    from profkit.collect import locks

    factories: dict[str, Callable[[], Any]] = {
        "Lock()": lambda: threading.Lock, "RLock()": lambda: threading.RLock,
        "asyncio.Lock()": lambda: asyncio.Lock}
    best = {name: [float("inf"), float("inf")] for name in factories}
    for _ in range(7):
        for i, enabled in enumerate((False, True)):
            if enabled:
                locks.enable()
            try:
                for name, get in factories.items():
                    t = timeit.timeit(get(), number=number) / number * 1e9
                    best[name][i] = min(best[name][i], t)
            finally:
                if enabled:
                    locks.disable()
    return {name: (v[0], v[1]) for name, v in best.items()}


def asyncio_ns(number: int) -> dict[str, tuple[float, float]]:
    """Return name -> (plain ns, profiled ns) per uncontended ``async with``, best of 7."""
    from profkit.collect import locks

    async def loop(obj: Any) -> float:
        t0 = time.perf_counter()
        for _ in range(number):
            async with obj:
                pass
        return (time.perf_counter() - t0) / number * 1e9

    kinds: dict[str, Callable[[], Any]] = {
        "asyncio.Lock": lambda: asyncio.Lock(), "asyncio.Semaphore": lambda: asyncio.Semaphore()}
    best = {name: [float("inf"), float("inf")] for name in kinds}
    for _ in range(7):
        for i, enabled in enumerate((False, True)):
            if enabled:
                locks.enable()
            try:
                for name, make in kinds.items():
                    best[name][i] = min(best[name][i], asyncio.run(loop(make())))
            finally:
                if enabled:
                    locks.disable()
    return {name: (v[0], v[1]) for name, v in best.items()}


def contended_ratio(pairs: int) -> tuple[float, list[float], list[float]]:
    """Run the 8-thread workload plain and profiled in interleaved pairs; return median ratio."""
    plain: list[float] = []
    prof: list[float] = []
    for _ in range(pairs):
        for mode, out in (("off", plain), ("on", prof)):
            cmd = [sys.executable, "-c", WORKLOAD, mode]
            if shutil.which("taskset"):
                cmd = ["taskset", "-c", str((os.cpu_count() or 1) - 1)] + cmd
            res = subprocess.run(cmd, capture_output=True, text=True, check=True)
            out.append(float(res.stdout.strip()))
    ratios = [p / q for p, q in zip(prof, plain)]
    return statistics.median(ratios), plain, prof


def main() -> None:
    quick = "--quick" in sys.argv
    number = 200_000 if quick else 1_000_000
    from profkit.collect import _threadlocks, locks

    plain_lock, plain_rlock = threading.Lock(), threading.RLock()
    locks.enable()
    try:
        subjects = {"plain": plain_lock, "profiled": threading.Lock(),
                    "python": _threadlocks.PyProfiledLock(), "plain_r": plain_rlock,
                    "profiled_r": threading.RLock()}
    finally:
        locks.disable()
    ns = ns_per_pair(subjects, number)
    plain, profiled, profiled_py = ns["plain"], ns["profiled"], ns["python"]
    plain_r, profiled_r = ns["plain_r"], ns["profiled_r"]
    native = _threadlocks.ProfiledLock is not _threadlocks.PyProfiledLock
    print(f"python {sys.version.split()[0]}; uncontended pair, ns (best of 7 interleaved x {number}):")
    print(f"  Lock  acquire+release  plain {plain[0]:6.1f}  profiled {profiled[0]:6.1f}"
          f"  ratio {profiled[0] / plain[0]:.2f}  ({'C fast path' if native else 'Python'})")
    print(f"  Lock  with             plain {plain[1]:6.1f}  profiled {profiled[1]:6.1f}"
          f"  ratio {profiled[1] / plain[1]:.2f}")
    print(f"  Lock  acquire+release  plain {plain[0]:6.1f}  Python   {profiled_py[0]:6.1f}"
          f"  ratio {profiled_py[0] / plain[0]:.2f}  (pure-Python twin)")
    print(f"  Lock  with             plain {plain[1]:6.1f}  Python   {profiled_py[1]:6.1f}"
          f"  ratio {profiled_py[1] / plain[1]:.2f}")
    print(f"  RLock acquire+release  plain {plain_r[0]:6.1f}  profiled {profiled_r[0]:6.1f}"
          f"  ratio {profiled_r[0] / plain_r[0]:.2f}")
    print(f"  RLock with             plain {plain_r[1]:6.1f}  profiled {profiled_r[1]:6.1f}"
          f"  ratio {profiled_r[1] / plain_r[1]:.2f}")
    print(f"lock creation, ns per call (best of 7 interleaved x {number // 10}):")
    for name, (a, b) in creation_ns(number // 10).items():
        print(f"  {name:22s} plain {a:6.1f}  profiling {b:6.1f}  ratio {b / a:.2f}")
    print(f"uncontended `async with`, ns (best of 7 interleaved x {number // 10}):")
    for name, (a, b) in asyncio_ns(number // 10).items():
        print(f"  {name:22s} plain {a:6.1f}  profiled  {b:6.1f}  ratio {b / a:.2f}")
    pairs = 3 if quick else 7
    t0 = time.perf_counter()
    ratio, p, q = contended_ratio(pairs)
    print(f"contended: 8 threads x 40k `with lock` on one Lock, {pairs} interleaved pairs "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"  plain median {statistics.median(p):.3f} s, profiled median "
          f"{statistics.median(q):.3f} s, median ratio profiled/plain {ratio:.3f}")


if __name__ == "__main__":
    main()
