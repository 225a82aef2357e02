"""Without the C extensions (no compiler at install time) both collectors still work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import sys, threading, time
    sys.modules["profkit.collect._heaphook"] = None   # as if the build had failed
    sys.modules["profkit.collect._fastlock"] = None
    from profkit.collect import _threadlocks, heap, locks
    from profkit.model import check_valid

    assert heap.available_backends() == ["tracemalloc"], heap.available_backends()
    assert _threadlocks.ProfiledLock is _threadlocks.PyProfiledLock
    assert _threadlocks.ProfiledRLock is _threadlocks.PyProfiledRLock

    def keep():
        return [bytearray(1 << 20) for _ in range(10)]

    heap.start()
    kept = keep()
    p = heap.snapshot()
    heap.stop()
    check_valid(p)
    i = p.sample_index("inuse_space")
    live = sum(s.values[i] for s in p.samples
               if any(l.lines[0].function.name == "__main__.keep" for l in s.locations))
    assert abs(live - 10 * (1 << 20)) < (1 << 16), live

    locks.enable()
    lock = threading.RLock()
    def hold():
        with lock:
            time.sleep(0.2)
    t = threading.Thread(target=hold); t.start(); time.sleep(0.05)
    with lock:
        pass
    t.join()
    locks.disable()
    b = locks.block_profile()
    check_valid(b)
    assert 0.1e9 < b.total(1) < 0.3e9, b.total(1)
    print("ok")
""")


def test_collectors_work_without_c_extensions(tmp_path: Path) -> None:
    script = tmp_path / "fallback_app.py"  # a file: the tracemalloc twin names frames from source
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


RUN_SCRIPT = textwrap.dedent("""
    import sys
    sys.modules["profkit.collect._heaphook"] = None   # force the tracemalloc backend
    from profkit.collect import _heaptracemalloc
    polls = []
    poll = _heaptracemalloc.TracemallocHeap.poll
    def counted(self):
        polls.append(1)
        poll(self)
    _heaptracemalloc.TracemallocHeap.poll = counted
    from profkit.cli import main
    code = main(["run", "--heap", sys.argv[1], "--", "python", sys.argv[2]])
    print(code, len(polls))
""")
APP = textwrap.dedent("""
    def keep_alive():
        return [bytearray(1 << 20) for _ in range(10)]
    kept = keep_alive()
""")


def test_run_with_tracemalloc_backend_polls_once_and_names_main_like_the_hook(
        tmp_path: Path) -> None:
    from profkit.model import load

    (tmp_path / "runner.py").write_text(RUN_SCRIPT)
    (tmp_path / "fallbackapp.py").write_text(APP)
    out = tmp_path / "heap.pb.gz"
    proc = subprocess.run([sys.executable, str(tmp_path / "runner.py"), str(out),
                           str(tmp_path / "fallbackapp.py")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["0", "1"]  # exit code 0, one tracemalloc poll
    names = {loc.lines[0].function.name for s in load(out).samples for loc in s.locations}
    assert "__main__.keep_alive" in names and not any(n.startswith("fallbackapp.") for n in names)
