"""Start-up cost of ``profkit run`` beside py-spy and pyinstrument on a short program.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--runs N]``.

Each command profiles the same tiny program, ``PROGRAM``: 0.3 s of busy loop (py-spy
cannot attach to a process that exits at once), so the CPU a command adds over plain
``python -c PROGRAM`` is everything a profiler costs around a short program: its own
imports, the sampler, writing the profile. The commands
run interleaved, ``--runs`` rounds; each child's CPU time (user + system) comes from
``os.wait4`` rusage, wall time from ``perf_counter``. Printed: the median per command and
its ratio to plain ``python -c pass`` in the same run, and profkit's ratio to each peer.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Tuple


def _measure(cmd: List[str], cwd: str) -> Tuple[float, float]:
    """Run ``cmd`` to completion; return (wall s, child CPU s). Fails loudly on error."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise SystemExit(f"{' '.join(cmd)} failed ({status}): {err.strip()}")
    return wall, usage.ru_utime + usage.ru_stime


PROGRAM = "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.3: pass"


def _commands(py: str, out: str) -> Dict[str, List[str]]:
    cmds = {
        "python -c PROGRAM": [py, "-c", PROGRAM],
        "profkit run --cpu": [py, "-m", "profkit", "run", "--cpu", f"{out}/p.pb.gz", "--",
                              py, "-c", PROGRAM],
    }
    bindir = os.path.dirname(py)
    pyspy = shutil.which("py-spy", path=bindir) or shutil.which("py-spy")
    if pyspy:  # py-spy's own process is counted: wait4 reports the whole child tree it reaped
        cmds["py-spy record"] = [pyspy, "record", "-r", "100", "-o", f"{out}/s.json",
                                 "-f", "speedscope", "--", py, "-c", PROGRAM]
    pyinst = shutil.which("pyinstrument", path=bindir) or shutil.which("pyinstrument")
    if pyinst:
        cmds["pyinstrument"] = [pyinst, "-o", f"{out}/i.txt", "-c", PROGRAM]
    return cmds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=11, help="interleaved rounds (default 11)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="profkit-bench-startup-") as out:
        cmds = _commands(sys.executable, out)
        walls: Dict[str, List[float]] = {k: [] for k in cmds}
        cpus: Dict[str, List[float]] = {k: [] for k in cmds}
        for _ in range(args.runs):
            for name, cmd in cmds.items():
                w, c = _measure(cmd, out)
                walls[name].append(w)
                cpus[name].append(c)
    wall = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    base = "python -c PROGRAM"
    print(f"{'command':<20} {'wall ms':>8} {'CPU ms':>8} {'added CPU ms':>13}")
    for k in cmds:
        print(f"{k:<20} {wall[k] * 1e3:8.0f} {cpu[k] * 1e3:8.0f} {(cpu[k] - cpu[base]) * 1e3:13.0f}")
    ours = "profkit run --cpu"
    for peer in ("py-spy record", "pyinstrument"):
        if peer in cmds:
            print(f"ratio {ours} / {peer}: wall {wall[ours] / wall[peer]:.2f}, "
                  f"CPU {cpu[ours] / cpu[peer]:.2f}")
    print(f"load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
