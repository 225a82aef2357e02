"""Lock profiler cost: uncontended acquire/release pairs and a contended threaded workload.

Run: ``.venv/bin/python benchmarks/bench_locks.py [--quick]``. Prints ns per pair for a
plain ``threading.Lock`` and for the profiled wrapper (``acquire(); release()`` and
``with``), then the wall-time ratio profiled/plain of 8 threads on one lock, as the
median of interleaved pairs of subprocess runs (each run a fresh interpreter).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
import timeit

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


def ns_per_pair(lock: object, number: int) -> tuple[float, float]:
    """Return (ns per acquire()+release(), ns per ``with``) for ``lock``, best of 5."""
    acq = min(timeit.repeat("a(); r()", globals={"a": lock.acquire, "r": lock.release},  # type: ignore[attr-defined]
                            number=number, repeat=5)) / number * 1e9
    wth = min(timeit.repeat("with l: pass", globals={"l": lock}, number=number, repeat=5))
    return acq, wth / number * 1e9


def contended_ratio(pairs: int) -> tuple[float, list[float], list[float]]:
    """Run the 8-thread workload plain and profiled in interleaved pairs; return median ratio."""
    plain: list[float] = []
    prof: list[float] = []
    for _ in range(pairs):
        for mode, out in (("off", plain), ("on", prof)):
            res = subprocess.run([sys.executable, "-c", WORKLOAD, mode], capture_output=True,
                                 text=True, check=True)
            out.append(float(res.stdout.strip()))
    ratios = [p / q for p, q in zip(prof, plain)]
    return statistics.median(ratios), plain, prof


def main() -> None:
    quick = "--quick" in sys.argv
    number = 200_000 if quick else 1_000_000
    from profkit.collect import locks

    plain = ns_per_pair(threading.Lock(), number)
    locks.enable()
    try:
        profiled = ns_per_pair(threading.Lock(), number)
        profiled_r = ns_per_pair(threading.RLock(), number)
    finally:
        locks.disable()
    plain_r = ns_per_pair(threading.RLock(), number)
    print(f"python {sys.version.split()[0]}; uncontended pair, ns (best of 5 x {number}):")
    print(f"  Lock  acquire+release  plain {plain[0]:6.1f}  profiled {profiled[0]:6.1f}"
          f"  ratio {profiled[0] / plain[0]:.2f}")
    print(f"  Lock  with             plain {plain[1]:6.1f}  profiled {profiled[1]:6.1f}"
          f"  ratio {profiled[1] / plain[1]:.2f}")
    print(f"  RLock acquire+release  plain {plain_r[0]:6.1f}  profiled {profiled_r[0]:6.1f}"
          f"  ratio {profiled_r[0] / plain_r[0]:.2f}")
    print(f"  RLock with             plain {plain_r[1]:6.1f}  profiled {profiled_r[1]:6.1f}"
          f"  ratio {profiled_r[1] / plain_r[1]:.2f}")
    pairs = 3 if quick else 7
    t0 = time.perf_counter()
    ratio, p, q = contended_ratio(pairs)
    print(f"contended: 8 threads x 40k `with lock` on one Lock, {pairs} interleaved pairs "
          f"({time.perf_counter() - t0:.0f} s)")
    print(f"  plain median {statistics.median(p):.3f} s, profiled median "
          f"{statistics.median(q):.3f} s, median ratio profiled/plain {ratio:.3f}")


if __name__ == "__main__":
    main()
