"""``profkit bench ab --base REF --new REF [--runs N] [--instructions] -- pytest benchmarks/``

Runs base and new interleaved in separate processes (``profkit.bench.ab``), keeps every run as
pytest-benchmark JSON in ``--dir`` (``base-01.json``, ``new-01.json``, ...; logs in ``logs/``),
then compares them exactly as ``profkit bench compare`` would, with its options and exit codes
(0 pass, 1 regression, 2 bad input or a failed run). A progress bar (rich, on a terminal) or one
line per run (CI logs) shows the estimated time left, on stderr. Ctrl-C, SIGTERM, SIGHUP or the
death of its parent process stop it: the running run's processes are ended, one line on stderr,
exit 128 + the signal (130, 143, 129), finished runs kept, no comparison (``profkit.bench.ab``).
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any, Callable


def add_parser(sub: Any, stat_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """Register ``ab`` on the ``bench`` subparsers (``stat_options`` adds threshold/alpha/...)."""
    a = sub.add_parser(
        "ab", help="run base and new interleaved (N runs each, separate processes), then compare",
        description="Run a pytest-benchmark command in two trees alternately and compare the runs. "
                    "Example: profkit bench ab --base origin/main --new . --runs 5 -- pytest benchmarks/")
    a.add_argument("--base", required=True, metavar="REF",
                   help="base tree: a directory, or a git ref checked out in a temporary worktree")
    a.add_argument("--new", required=True, metavar="REF", help="new tree: a directory or a git ref")
    a.add_argument("--runs", type=_positive, default=5, metavar="N",
                   help="runs per side (default 5; at least 4-5 for the run-level U test)")
    a.add_argument("--instructions", action="store_true",
                   help="count instructions under valgrind (pytest --profkit-instructions)")
    a.add_argument("--dir", default="bench-ab", metavar="DIR",
                   help="where the run files and logs go (default bench-ab/)")
    stat_options(a)
    a.add_argument("--fail-on", action="append", default=[], metavar="REGEX",
                   help="only benchmarks whose name matches gate the exit code (repeatable)")
    a.add_argument("--strict", action="store_true",
                   help="exit 2 when the gate is blind or cannot see the threshold")
    a.add_argument("--sample-unit", choices=("auto", "round", "run"), default="auto")
    a.add_argument("--format", choices=("table", "markdown", "json", "github"), default="table")
    a.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    a.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (PR comment)")
    a.add_argument("--all", action="store_true", help="list every benchmark in table/Markdown")
    a.add_argument("command", nargs=argparse.REMAINDER,
                   help="the benchmark command after --, e.g. -- pytest benchmarks/")


def _positive(text: str) -> int:
    """``parse_positive`` with argparse's error type (argparse names the option)."""
    from profkit.bench.positive import parse_positive

    try:
        return parse_positive(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "?"
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class _Progress:
    """A rich progress bar on a terminal, else one line per run with the time left."""

    def __init__(self) -> None:
        self.bar: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[left]} left"),
                                console=Console(file=sys.stderr), transient=False)
            self.task = self.bar.add_task("bench ab", total=None, left="?")
            self.bar.start()

    def __call__(self, done: int, total: int, side: str, index: int, left: float) -> None:
        what = f"{side} run {index}" if side else "done"
        if self.bar is not None:
            self.bar.update(self.task, total=total, completed=done, description=what,
                            left=_duration(left))
            if done == total:
                self.bar.stop()
        elif side:
            print(f"profkit: bench ab: run {done + 1}/{total} ({what}), about {_duration(left)} left",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run(args: argparse.Namespace, compare: Callable[[argparse.Namespace], int]) -> int:
    """Run the interleaved runs, then ``compare`` (cmd_bench's) on the files written."""
    from contextlib import ExitStack

    from profkit.bench.ab import resolve_tree, run_ab
    from profkit.bench.procgroup import Stopped, stop_on_signals
    from profkit.errors import CommandError

    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    progress = _Progress()
    try:
        with stop_on_signals(), ExitStack() as stack:
            trees = {"base": resolve_tree(args.base, "--base", stack),
                     "new": resolve_tree(args.new, "--new", stack)}
            result = run_ab(trees, command, args.runs, args.dir, instructions=args.instructions,
                            progress=progress)
    except Stopped as e:  # outside a run (a run's own interruption is already a CommandError)
        raise CommandError(f"bench ab stopped: {e.why}; no comparison",
                           exit_code=128 + e.signum) from None
    finally:
        progress.close()
    spent = sum(sum(v) for v in result.seconds.values())
    print(f"profkit: bench ab: {sum(len(v) for v in result.seconds.values())} runs, {spent:.1f}s in "
          "the runs themselves", file=sys.stderr, flush=True)
    args.base = ",".join(result.files["base"])
    args.new = ",".join(result.files["new"])
    args.more_base, args.more_new = [], []
    args.profiles, args.top = False, 10
    return compare(args)
