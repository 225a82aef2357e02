"""Benchmark: ``profkit convert capture.bin`` against ``memray flamegraph`` on the same file.

Both run as subprocesses (the real CLIs), interleaved; reported are the median wall
time and the peak RSS of each (``os.wait4`` rusage of the child), and the ratios
profkit/memray (< 1.0 = profkit is better). ``memray flamegraph`` is the peer: it
reads the same capture with the same reader and builds a report from it.

The capture is ``memray run --trace-python-allocators`` on a deterministic workload
(small dicts, lists and strings: every pymalloc call is a record, ~3.5M records,
~8 MB lz4-compressed), cached under ``--cache``; ``--capture FILE`` uses another.

    .venv/bin/python benchmarks/bench_memray_import.py [--runs 3] [--capture FILE]
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

WORKLOAD = """
def work():
    out = []
    for i in range(150_000):
        out.append({"a": str(i), "b": [i, i + 1], "c": (i, str(i * 2))})
        if len(out) > 1000:
            out = []
    return out

kept = work()
"""


def make_capture(path: Path) -> None:
    """Write the benchmark's memray capture to ``path`` (atomically)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "work.py"
        script.write_text(WORKLOAD)
        out = Path(tmp) / "capture.bin"
        subprocess.run([sys.executable, "-m", "memray", "run", "-q", "--trace-python-allocators",
                        "-o", str(out), str(script)], check=True, capture_output=True)
        os.replace(out, path)


def timed(cmd: List[str]) -> Tuple[float, float]:
    """Run ``cmd``; return (wall seconds, peak RSS MB). Exits on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--capture", type=Path)
    ap.add_argument("--cache", type=Path,
                    default=Path(tempfile.gettempdir()) / "profkit-bench-cache")
    args = ap.parse_args()
    capture = args.capture or args.cache / "memray-trace-python-allocators.bin"
    if not capture.exists():
        make_capture(capture)
    with tempfile.TemporaryDirectory() as tmp:
        cmds = {
            "profkit convert": [sys.executable, "-m", "profkit", "convert", str(capture),
                                "-o", f"{tmp}/heap.pb.gz"],
            "memray flamegraph": [sys.executable, "-m", "memray", "flamegraph", "-f", "-o",
                                  f"{tmp}/flame.html", str(capture)],
        }
        res: Dict[str, List[Tuple[float, float]]] = {k: [] for k in cmds}
        for r in range(args.runs):
            for name in (list(cmds) if r % 2 == 0 else list(cmds)[::-1]):
                res[name].append(timed(cmds[name]))
    print(f"capture {capture} ({capture.stat().st_size / 1e6:.2f} MB), {args.runs} interleaved "
          f"runs, python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    med = {k: (statistics.median(w for w, _ in v), statistics.median(m for _, m in v))
           for k, v in res.items()}
    for k, (wall, rss) in med.items():
        print(f"  {k:18s} {wall:8.2f} s {rss:8.0f} MB")
    (pw, pr), (mw, mr) = med["profkit convert"], med["memray flamegraph"]
    print(f"  ratio profkit/memray: time {pw / mw:.2f}, RSS {pr / mr:.2f}")


if __name__ == "__main__":
    main()
