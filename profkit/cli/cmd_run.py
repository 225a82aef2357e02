"""``profkit run --cpu cpu.pb.gz --wall wall.pb.gz [--rate HZ] -- python script.py args``.

Runs the program in this process as ``__main__`` (like ``go test -cpuprofile``), with
its own argv; the exit code is passed through and profiles are written even when the
program raises, calls ``sys.exit``/``os._exit``, gets SIGTERM or is interrupted
with Ctrl-C. On a terminal one status line goes to stderr before and after the run.
To add collectors (heap, locks): build more ``RunCollector``s in ``collectors(args)``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, List

if TYPE_CHECKING:
    from profkit.collect.session import RunCollector

NAME = "run"
HELP = "run a Python program under the CPU / wall-clock profilers and write pprof files"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("--cpu", metavar="FILE", help="write the CPU profile here (.pb.gz)")
    p.add_argument("--wall", metavar="FILE", help="write the wall-clock profile here (.pb.gz)")
    p.add_argument(
        "--rate", type=float, default=100.0, metavar="HZ", help="sampling rate (default 100)"
    )
    p.add_argument("--max-depth", type=int, default=1000, metavar="N", help="frames kept per stack")
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        help="-- [python] script.py args | -- [python] -m module args | -- python -c code",
    )


def collectors(args: argparse.Namespace) -> List[RunCollector]:
    """Return the RunCollectors the options ask for (empty when none)."""
    from profkit.collect.session import SamplerCollector

    out: List[RunCollector] = []
    if args.cpu or args.wall:
        out.append(SamplerCollector(args.cpu, args.wall, args.rate, args.max_depth))
    return out


def _check_outputs(args: argparse.Namespace) -> None:
    from profkit.errors import InputError

    for path in (args.cpu, args.wall):
        if path:
            d = os.path.dirname(os.path.abspath(path))
            if not os.path.isdir(d):
                raise InputError(f"{path}: directory {d} does not exist")


def _status(line: str) -> None:
    if sys.stderr.isatty():
        print(f"profkit: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the program under the requested profilers; return its exit code."""
    from profkit.collect import threads  # noqa: F401  (records thread start sites)
    from profkit.collect.runner import parse_command, run_program
    from profkit.collect.session import RunSession
    from profkit.errors import InputError

    program = parse_command(args.command)
    if not (args.cpu or args.wall) and not _extra_outputs(args):
        raise InputError("no profile asked for: add --cpu FILE and/or --wall FILE")
    _check_outputs(args)
    if not (0 < args.rate <= 10000):
        raise InputError(f"--rate must be between 1 and 10000 Hz, got {args.rate:g}")
    session = RunSession(collectors(args))
    wanted = ", ".join(f"{k} -> {v}" for k, v in (("cpu", args.cpu), ("wall", args.wall)) if v)
    _status(f"profiling {program.target} ({wanted}, {args.rate:g} Hz)")
    import gc

    gc.freeze()  # profkit's own import-time objects stay out of the program's collections
    session.start()
    try:
        code = run_program(program)
    except KeyboardInterrupt:
        code = 130
    finally:
        written = session.finish()
    for path, profile in written:
        _status(f"wrote {path}: {_describe(profile)}")
    for err in session.errors:
        print(f"profkit: {err}", file=sys.stderr)
    return code if not session.errors or code else 1


def _extra_outputs(args: argparse.Namespace) -> bool:
    """True when another collector's option (added by other commands' flags) is set."""
    return any(getattr(args, k, None) for k in ("heap", "block", "mutex"))


def _describe(profile: object) -> str:
    from profkit.model import Profile

    assert isinstance(profile, Profile)
    if len(profile.sample_types) < 2:
        return f"{len(profile.samples)} samples"
    total = profile.total(1) / 1e9
    dur = profile.duration_nanos / 1e9
    return (
        f"{profile.total(0)} samples, {total:.2f} s {profile.sample_types[1].type} in {dur:.2f} s"
    )
