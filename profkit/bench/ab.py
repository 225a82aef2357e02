"""Interleaved A/B benchmark runs: base and new alternately, each run its own process.

``run_ab`` runs a benchmark command (pytest with pytest-benchmark) ``runs`` times in each of two
trees, in the order base, new, new, base, base, new, ... (each pair swaps, so a drift of the machine
over time hits both sides alike), every run in a fresh process with ``--benchmark-json`` (and
``--profkit-instructions`` in instruction mode). A tree is a directory, or a git ref checked out in
a temporary ``git worktree`` (removed afterwards). The run's working directory is its tree and the
tree (and its ``src/`` when present) goes first on ``PYTHONPATH``, so each side imports its own
code. Each run's JSON is written under a temporary name and renamed when the run passed, so the
output directory never holds a half-written run; a run that fails raises ``InputError`` (exit 2:
a broken benchmark is not a regression) naming the side, the run and its log.

Each run is a session (process group) of its own (``profkit.bench.procgroup``): when it ends, or
when ``run_ab`` is interrupted (``KeyboardInterrupt``, ``procgroup.Stopped``: SIGTERM, SIGHUP, the
parent's death), every process of that group (pytest, valgrind under it, what the benchmarks
started) is ended and the run's temporary file removed; the interruption becomes ``CommandError``
with exit code 128 + the signal (130 for Ctrl-C) naming the run, and the finished runs stay.
Temporary files a killed (SIGKILL) earlier ``run_ab`` left in ``out_dir`` are removed at the start.

The cost is the runs themselves: nothing runs between them but the progress line.
"""

from __future__ import annotations

import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

from profkit.bench.procgroup import Stopped, run_in_group
from profkit.errors import CommandError, InputError

SIDES = ("base", "new")


@dataclass
class ABResult:
    """Files written per side, in run order, and the seconds each run took."""

    files: Dict[str, List[str]] = field(default_factory=lambda: {s: [] for s in SIDES})
    seconds: Dict[str, List[float]] = field(default_factory=lambda: {s: [] for s in SIDES})


def schedule(runs: int) -> List[tuple]:
    """Return ``[(side, index), ...]``: pairs alternate base-first and new-first (ABBA...)."""
    order: List[tuple] = []
    for i in range(1, runs + 1):
        pair = SIDES if i % 2 else SIDES[::-1]
        order.extend((side, i) for side in pair)
    return order


def _git(args: Sequence[str], cwd: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    except OSError as e:
        raise InputError(f"cannot run git ({e.strerror}): give a directory instead of a ref") from None


def resolve_tree(ref: str, option: str, stack: ExitStack, repo: str = ".") -> str:
    """Return the directory for ``ref``: itself when a directory, else a temporary git worktree.

    Raises:
        InputError: neither a directory nor a commit of the repository at ``repo``.
    """
    if os.path.isdir(ref):
        return os.path.abspath(ref)
    check = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], repo)
    if check.returncode != 0:
        raise InputError(f"{option} {ref!r}: neither a directory nor a git commit in "
                         f"{os.path.abspath(repo)} (fetch it, e.g. actions/checkout fetch-depth: 0)")
    where = os.path.join(stack.enter_context(tempfile.TemporaryDirectory(prefix="profkit-ab-")), "tree")
    added = _git(["worktree", "add", "--detach", where, check.stdout.strip()], repo)
    if added.returncode != 0:
        first = (added.stderr.strip().splitlines() or ["?"])[0]
        raise InputError(f"{option} {ref!r}: git worktree add failed: {first}")
    stack.callback(_git, ["worktree", "remove", "--force", where], repo)
    return where


def command_for(command: Sequence[str]) -> List[str]:
    """Return the command to run: a bare ``pytest`` becomes this interpreter's ``-m pytest``."""
    if not command:
        raise InputError("no benchmark command: give one after --, e.g. -- pytest benchmarks/")
    cmd = list(command)
    if cmd[0] == "pytest":
        cmd[:1] = [sys.executable, "-m", "pytest"]
    return cmd


def _env(tree: str, side: str) -> Dict[str, str]:
    paths = [tree] + ([os.path.join(tree, "src")] if os.path.isdir(os.path.join(tree, "src")) else [])
    old = os.environ.get("PYTHONPATH")
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths + ([old] if old else [])),
                PROFKIT_AB_SIDE=side)


def _last_line(log: str) -> str:
    try:
        with open(log, encoding="utf-8", errors="replace") as f:
            lines = [ln.strip() for ln in f if ln.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def run_ab(trees: Dict[str, str], command: Sequence[str], runs: int, out_dir: str, *,
           instructions: bool = False,
           progress: Optional[Callable[[int, int, str, int, float], None]] = None) -> ABResult:
    """Run ``command`` ``runs`` times per side, interleaved; return the files written.

    ``progress(done, total, side, index, seconds_left)`` is called before each run (seconds_left
    is the estimate from the runs so far, per side; NaN before the first of a side) and once at
    the end. Raises ``InputError`` when a run cannot start or exits non-zero, ``CommandError``
    (exit code 128 + signal) when interrupted during a run (module docstring).
    """
    out_dir = os.path.abspath(out_dir)  # the runs' working directory is their tree
    logs = os.path.join(out_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    for stale in glob.glob(os.path.join(glob.escape(out_dir), ".*.json.part")):
        os.unlink(stale)
    base_cmd = command_for(command)
    result = ABResult()
    order = schedule(runs)
    for done, (side, index) in enumerate(order):
        if progress is not None:
            progress(done, len(order), side, index, _eta(result, order[done:]))
        name = f"{side}-{index:02d}"
        final = os.path.join(out_dir, f"{name}.json")
        part = os.path.join(out_dir, f".{name}.json.part")
        log = os.path.join(logs, f"{name}.log")
        cmd = base_cmd + [f"--benchmark-json={part}"] + (["--profkit-instructions"] if instructions else [])
        started = time.perf_counter()
        try:
            with open(log, "w", encoding="utf-8") as f:
                try:
                    code = run_in_group(cmd, cwd=trees[side], env=_env(trees[side], side),
                                        stdout=f, stderr=subprocess.STDOUT)
                except OSError as e:
                    raise InputError(f"cannot run {cmd[0]!r} ({e.strerror})") from None
            if code != 0 or not os.path.isfile(part):
                raise InputError(f"{side} run {index} (in {trees[side]}) exited {code}: not a "
                                 f"regression verdict; last line: {_last_line(log)!r}; log: {log}")
            os.replace(part, final)
        except (KeyboardInterrupt, Stopped) as e:
            signum, why = ((e.signum, e.why) if isinstance(e, Stopped)
                           else (int(signal.SIGINT), "interrupted (Ctrl-C)"))
            kept = sum(len(v) for v in result.files.values())
            raise CommandError(f"bench ab stopped: {why} during {side} run {index} of {runs}; its "
                               f"processes were ended; {kept} finished run(s) kept in {out_dir}, "
                               "no comparison", exit_code=128 + signum) from None
        finally:
            if os.path.exists(part):
                os.unlink(part)
        result.seconds[side].append(time.perf_counter() - started)
        result.files[side].append(final)
    if progress is not None:
        progress(len(order), len(order), "", 0, 0.0)
    return result


def _eta(result: ABResult, remaining: Sequence[tuple]) -> float:
    """Seconds left: each remaining run costs the mean of its side's runs so far."""
    total = 0.0
    for side, _ in remaining:
        done = result.seconds[side] or result.seconds[SIDES[0]] or result.seconds[SIDES[1]]
        if not done:
            return float("nan")
        total += sum(done) / len(done)
    return total
