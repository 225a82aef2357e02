"""``profkit run --cpu cpu.pb.gz --wall wall.pb.gz [--rate HZ] -- python script.py args``.

Also ``--heap heap.pb.gz`` (heap profile at the program's end), ``--block block.pb.gz``
and ``--mutex mutex.pb.gz`` (lock contention of locks the program creates).

Runs the program in this process as ``__main__`` (like ``go test -cpuprofile``), with
its own argv; the exit code is passed through and profiles are written even when the
program raises, calls ``sys.exit``/``os._exit``, gets SIGTERM or is interrupted
with Ctrl-C. On a terminal one status line goes to stderr before and after the run.
Usage errors (bad options, output files that could not be written, a program that is
not Python) are one line and exit 2 before the program starts.
To add collectors (heap, locks): build more ``RunCollector``s in ``collectors(args)``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Dict, List

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
    p.add_argument("--heap", metavar="FILE", help="write the heap profile here (.pb.gz)")
    p.add_argument(
        "--heap-interval",
        type=int,
        default=512 * 1024,
        metavar="BYTES",
        help="heap sampling interval in bytes (default 524288, as Go)",
    )
    p.add_argument("--block", metavar="FILE", help="write the lock block profile here (.pb.gz)")
    p.add_argument("--mutex", metavar="FILE", help="write the lock mutex profile here (.pb.gz)")
    p.add_argument(
        "--lock-fraction",
        type=int,
        default=1,
        metavar="N",
        help="record 1 in N lock contentions, scaled up (default 1)",
    )
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
    if args.heap:
        from profkit.collect.heaplock_session import HeapRunCollector

        out.append(HeapRunCollector(args.heap, args.heap_interval))
    if args.block or args.mutex:
        from profkit.collect.heaplock_session import LockRunCollector

        out.append(LockRunCollector(args.block, args.mutex, args.lock_fraction))
    return out


OUTPUT_OPTIONS = ("cpu", "wall", "heap", "block", "mutex")


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse, before the program runs, options and output files that would fail after it.

    Each output must be a file name (not a directory) in an existing directory where a
    file can be created, and no two options may name the same file.

    Raises:
        InputError: the first problem found, as one line.
    """
    from profkit.errors import InputError

    if args.heap_interval < 1:
        raise InputError(f"--heap-interval must be at least 1 byte, got {args.heap_interval}")
    if args.lock_fraction < 1:
        raise InputError(f"--lock-fraction must be at least 1, got {args.lock_fraction}")
    seen: Dict[str, str] = {}
    for opt in OUTPUT_OPTIONS:
        path = getattr(args, opt, None)
        if not path:
            continue
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(
                f"--{seen[real]} and --{opt} both write {path}: give each profile its own file"
            )
        seen[real] = opt
        if os.path.isdir(path):
            raise InputError(
                f"--{opt} {path}: is a directory; give a file name such as "
                f"{os.path.join(path, opt + '.pb.gz')}"
            )
        d = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(d):
            raise InputError(f"--{opt} {path}: directory {d} does not exist")
        _check_writable_dir(opt, path, d)


def _check_writable_dir(opt: str, path: str, directory: str) -> None:
    """Create and remove a temporary file in ``directory`` as the profile writer will."""
    import tempfile

    from profkit.errors import InputError

    try:
        fd, tmp = tempfile.mkstemp(prefix=".profkit-check-", dir=directory)
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise InputError(
            f"--{opt} {path}: cannot create files in {directory} ({reason}); "
            "choose a writable directory"
        ) from None
    os.close(fd)
    os.unlink(tmp)


def _check_sampling(args: argparse.Namespace) -> None:
    from profkit.errors import InputError

    if not (1 <= args.rate <= 10000):
        raise InputError(f"--rate must be between 1 and 10000 Hz, got {args.rate:g}")
    if args.max_depth < 1:
        raise InputError(f"--max-depth must be at least 1 frame, got {args.max_depth}")


def _status(line: str) -> None:
    if sys.stderr.isatty():
        print(f"profkit: {line}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    """Run the program under the requested profilers; return its exit code."""
    from profkit.collect import threads  # noqa: F401  (records thread start sites)
    from profkit.collect.runner import parse_command, run_program
    from profkit.collect.session import RunSession
    from profkit.errors import CommandError, InputError

    try:  # usage errors: one line, exit 2, before anything runs
        program = parse_command(args.command)
        if not (args.cpu or args.wall) and not _extra_outputs(args):
            raise InputError(
                "no profile asked for: add --cpu, --wall, --heap, --block and/or --mutex FILE"
            )
        _check_sampling(args)
        _check_outputs(args)
    except InputError as e:
        raise CommandError(str(e), exit_code=2) from None
    session = RunSession(collectors(args))
    kinds = ("cpu", "wall", "heap", "block", "mutex")
    wanted = ", ".join(f"{k} -> {getattr(args, k)}" for k in kinds if getattr(args, k))
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
