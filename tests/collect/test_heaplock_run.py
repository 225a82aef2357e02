"""``profkit run --heap/--block/--mutex``: real subprocess runs, profiles checked."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from profkit.model import Profile, check_valid, load

MIB = 1 << 20
SCRIPT = """
import json, os, sys, threading, time

def keep_alive():
    return [bytearray(2 << 20) for _ in range(15)]      # 30 MiB

lock = threading.Lock()
holding = threading.Event()
waits = []

def holder():
    with lock:
        holding.set()
        time.sleep(0.3)

def waiter():
    holding.wait()
    t0 = time.perf_counter()
    with lock:
        waits.append(time.perf_counter() - t0)

kept = keep_alive()
threads = [threading.Thread(target=holder)] + [threading.Thread(target=waiter) for _ in range(3)]
for t in threads: t.start()
for t in threads: t.join()
with open(os.environ["OUT"], "w") as f:
    json.dump({"waited": sum(waits)}, f)
sys.exit(int(sys.argv[1]))
"""


def _run(tmp_path: Path, *flags: str, exit_code: int = 0) -> subprocess.CompletedProcess[str]:
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    env = {"OUT": str(tmp_path / "out.json"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "profkit", "run", *flags, "--", "python", str(script),
         str(exit_code)], capture_output=True, text=True, timeout=120, env=env,
    )


def _in(p: Profile, func: str, sample_type: str, leaf_only: bool = False) -> int:
    i = p.sample_index(sample_type)
    return sum(s.values[i] for s in p.samples
               if any(func == loc.lines[0].function.name
                      for loc in (s.locations[:1] if leaf_only else s.locations)))


def test_run_writes_heap_block_and_mutex_profiles(tmp_path: Path) -> None:
    heap_p, block_p, mutex_p = (tmp_path / f"{k}.pb.gz" for k in ("heap", "block", "mutex"))
    proc = _run(tmp_path, "--heap", str(heap_p), "--block", str(block_p), "--mutex", str(mutex_p),
                exit_code=3)
    assert proc.returncode == 3, proc.stderr
    waited = json.loads((tmp_path / "out.json").read_text())["waited"] * 1e9
    heap, block, mutex = load(heap_p), load(block_p), load(mutex_p)
    for p in (heap, block, mutex):
        check_valid(p)
    assert heap.sample_types[3].type == "inuse_space"
    assert _in(heap, "__main__.keep_alive", "inuse_space") == pytest.approx(30 * MIB, rel=0.15)
    assert _in(block, "__main__.waiter", "delay", leaf_only=True) == pytest.approx(waited, rel=0.2)
    assert _in(mutex, "__main__.holder", "delay", leaf_only=True) == pytest.approx(waited, rel=0.2)


def test_run_rejects_bad_heap_and_lock_options(tmp_path: Path) -> None:
    proc = _run(tmp_path, "--heap", str(tmp_path / "h.pb.gz"), "--heap-interval", "0")
    assert proc.returncode == 2 and "--heap-interval" in proc.stderr
    proc = _run(tmp_path, "--block", str(tmp_path / "missing" / "b.pb.gz"))
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert proc.stderr.count("\n") == 1


@pytest.mark.parametrize("how", ["script", "script-exit", "script-raise", "code"])
def test_run_heap_counts_memory_held_by_module_globals(tmp_path: Path, how: str) -> None:
    """A program with no functions: its globals stay alive until the heap snapshot."""
    body = "kept = [bytearray(1 << 20) for _ in range(30)]\n"
    ending = {"script-exit": "import sys; sys.exit(4)\n", "script-raise": "raise ValueError\n"}
    script = tmp_path / "flat.py"
    script.write_text(body + ending.get(how, ""))
    heap_p = tmp_path / "heap.pb.gz"
    target = ["-c", body] if how == "code" else [str(script)]
    proc = subprocess.run(
        [sys.executable, "-m", "profkit", "run", "--heap", str(heap_p), "--heap-interval", "65536",
         "--", "python", *target], capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == {"script-exit": 4, "script-raise": 1}.get(how, 0), proc.stderr
    heap = load(heap_p)
    assert heap.total(heap.sample_index("inuse_space")) == pytest.approx(30 * MIB, rel=0.1)


def test_run_profiles_hold_no_profkit_frames(tmp_path: Path) -> None:
    """Heap, block and mutex stacks from the console script: the program's frames only
    (no launcher, runner, CLI or Thread.start wrapper frames)."""
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    out = {k: tmp_path / f"{k}.pb.gz" for k in ("heap", "block", "mutex")}
    launcher = Path(sys.executable).parent / "profkit"
    cmd = [str(launcher)] if launcher.exists() else [sys.executable, "-m", "profkit"]
    proc = subprocess.run(
        [*cmd, "run", "--heap", str(out["heap"]), "--heap-interval", "4096",
         "--block", str(out["block"]), "--mutex", str(out["mutex"]),
         "--", "python", str(script), "0"], capture_output=True, text=True, timeout=120,
        env={"OUT": str(tmp_path / "out.json"), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    profkit_dir = str(Path(__file__).resolve().parents[2] / "profkit")
    for kind, path in out.items():
        p = load(path)
        assert p.samples, kind
        for s in p.samples:
            lines = [loc.lines[0] for loc in s.locations]
            bad = [f"{ln.function.name} {ln.function.filename}:{ln.line}" for ln in lines
                   if ln.function.name.startswith("profkit.") or str(launcher) in
                   ln.function.filename or ln.function.filename.startswith(profkit_dir)
                   or "runpy" in ln.function.filename]
            assert not bad, (kind, bad)
            if kind != "heap":  # block/mutex: every stack is the program's, from its <module>
                assert lines[-1].function.name in ("__main__.<module>", "threading.Thread._bootstrap")
