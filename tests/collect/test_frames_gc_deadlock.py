"""``frames.current_frames`` must not deadlock with exiting threads (CPython gh-106883).

On CPython 3.11, ``sys._current_frames()`` builds its dict holding the runtime's
thread-list lock; a garbage collection started by one of its allocations runs weakref
callbacks, which can hand the GIL to an exiting thread that then waits for that lock
while holding the GIL. The workload below (collections forced often, weakref
callbacks, threads exiting all the time, two callers as when a thread snapshot is
served while the sampler runs) hangs plain ``sys._current_frames()`` within seconds
(3 of 3 runs here), and profkit's wrapper without its lock too (a second caller
re-enabled the GC while the first was inside the call). The child runs for a few
seconds; a watchdog thread exits it with 3 if the callers stop making progress, and a
deadlocked child (the watchdog cannot get the GIL either) is killed by the timeout.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import gc, os, sys, threading, time, weakref
    from profkit.collect.frames import current_frames

    sys.setswitchinterval(1e-5)
    gc.set_threshold(5, 1, 1)
    stop = False
    counts = [0, 0]

    class Obj:
        pass

    def churn():  # cycles with weak references: their callbacks run inside collections
        s = weakref.WeakSet()
        while not stop:
            for _ in range(20):
                o = Obj()
                o.self = o
                s.add(o)

    def short():
        pass

    def spawner():  # threads exiting all the time
        while not stop:
            t = threading.Thread(target=short)
            t.start()
            t.join()
            counts[0] += 1

    def caller():
        while not stop:
            current_frames()
            counts[1] += 1

    for f in (churn, spawner, spawner, caller, caller):
        threading.Thread(target=f, daemon=True).start()
    end = time.monotonic() + float(sys.argv[1])
    last, still = list(counts), 0
    while time.monotonic() < end:
        time.sleep(0.5)
        still = still + 1 if counts == last else 0
        if still >= 6:
            print("stuck", counts, flush=True)
            os._exit(3)
        last = list(counts)
    print("done", counts, flush=True)
    os._exit(0)
""")


@pytest.mark.skipif(sys.implementation.name != "cpython", reason="CPython's thread-list lock")
def test_current_frames_survives_collections_while_threads_exit(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    try:
        out = subprocess.run([sys.executable, str(script), "5"], capture_output=True, text=True,
                             timeout=45, cwd=ROOT)
    except subprocess.TimeoutExpired:
        pytest.fail("current_frames deadlocked with an exiting thread (gh-106883)")
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("done"), out.stdout
    spawned, calls = map(int, out.stdout.split("[", 1)[1].rstrip("]\n").split(","))
    assert spawned > 100 and calls > 1000  # both sides really ran
