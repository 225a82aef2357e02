"""``profkit capture --pid PID``: the CLI side of the py-spy collector.

The collector itself (``capture``, ``shape``, the checks and error messages) is
``profkit.collect.pyspy``; this module parses the command's flags, writes the file
atomically and prints the summary (with the processes sampled: the PID and, unless
``--no-children``, its Python children). ``--type threads`` takes one thread dump
(``capture_pid_threads``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from profkit.collect.pyspy import _readlink, capture, check_seconds
from profkit.errors import InputError


def run(args: argparse.Namespace) -> int:
    """Capture from ``args.pid``, write ``args.output`` atomically, print a summary.

    ``--type threads`` takes one thread dump (``capture_pid_threads``) and prints it
    grouped (``--text 1``, the default) or every thread (``--text 2``).
    """
    from profkit.model.codec import serialize, write_atomic

    if args.kind == "threads":
        return _run_threads(args)
    mode = "wall" if args.wall or args.kind == "wall" else "cpu"
    if args.kind not in (None, "cpu", "wall"):
        raise InputError(f"--pid captures cpu, wall or threads profiles, not {args.kind}")
    seconds = 10.0 if args.seconds is None else args.seconds
    check_seconds(seconds)
    output = _output(args, mode)
    if sys.stderr.isatty() and not args.no_progress:
        print(f"capturing {mode} from PID {args.pid} for {seconds:g} s (py-spy)", file=sys.stderr)
    profile = capture(args.pid, seconds, mode=mode, rate_hz=args.rate, nonblocking=args.nonblocking,
                      children=not getattr(args, "no_children", False))
    write_atomic(output, serialize(profile))
    print(f"wrote {output} ({len(profile.samples)} samples, {profile.total(0)} observations)")
    for note in profile.comments[1:]:  # processes sampled, and any that started or exited
        print(note)
    if args.top > 0 and profile.samples:
        from profkit.cli.capture_summary import print_top

        print_top(profile, args.top)
    return 0


def _output(args: argparse.Namespace, kind: str) -> str:
    output: str = args.output or f"{kind}-{args.pid}-{time.strftime('%Y%m%d-%H%M%S')}.pb.gz"
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise InputError(f"{output}: directory {directory} does not exist")
    if os.path.isdir(output):
        raise InputError(f"{output}: is a directory; give a file name")
    return output


def _run_threads(args: argparse.Namespace) -> int:
    from profkit.cli import capture_pid_threads as ct
    from profkit.model.codec import serialize, write_atomic

    if args.wall or args.seconds is not None:
        raise InputError("--type threads is one snapshot: drop --wall and --seconds")
    output = _output(args, "threads")
    found = ct.entries(ct.pyspy_dump(args.pid, nonblocking=args.nonblocking))
    exe = _readlink(f"/proc/{args.pid}/exe") or f"python (PID {args.pid})"
    write_atomic(output, serialize(ct.profile(found, args.pid, exe)))
    print(f"wrote {output} ({len(found)} threads)")
    debug = getattr(args, "text", None) or 1
    if args.top > 0 or getattr(args, "text", None):
        print(ct.text(found, debug, args.pid))
    return 0
