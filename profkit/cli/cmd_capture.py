"""``profkit capture URL`` / ``profkit capture --pid PID``: profile a running program.

A URL fetches from a service's ``/debug/profile`` (``profkit.report.fetch_url``); ``--pid`` samples
a local Python process with py-spy (``capture_pid``). Examples::

    profkit capture --pid 4242 --seconds 10 -o cpu.pb.gz
    profkit capture --pid 4242 --wall --seconds 5 -o wall.pb.gz
    profkit capture --pid $(cat gunicorn.pid) --seconds 10   # the master and every worker
    profkit capture --pid 4242 --type threads --text 2 -o threads.pb.gz

    profkit capture http://127.0.0.1:8000 --seconds 10 -o cpu.pb.gz
    profkit capture http://127.0.0.1:8000 --type heap -o heap.pb.gz
    profkit capture http://127.0.0.1:8000/debug/profile/mutex --seconds 5

Shows a progress bar while the server samples (on a terminal), writes the file
atomically, then prints the top functions. ``$PROFKIT_TOKEN`` (or ``--token``) is
sent as ``Authorization: Bearer`` for endpoints that require a token.
"""

from __future__ import annotations

import argparse

from profkit.model.kinds import CAPTURE_TYPES

NAME = "capture"
# Profile types a URL capture can ask for: the one list, profkit.model.kinds (plain data,
# so building the parser, for every profkit command, imports no HTTP client).
TYPES = CAPTURE_TYPES
HELP = "capture a profile from a service's /debug/profile endpoint, or from a PID (py-spy)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("url", nargs="?", default=None, metavar="URL",
                   help="service URL (http://HOST:PORT), a prefix, or a full endpoint URL")
    p.add_argument("--pid", type=int, default=None,
                   help="instead of a URL: sample this local Python process with py-spy")
    p.add_argument("--wall", action="store_true",
                   help="with --pid: wall-clock profile, idle threads included")
    p.add_argument("--rate", type=int, default=100, metavar="HZ",
                   help="with --pid: samples per second (default 100)")
    p.add_argument("--no-children", action="store_true",
                   help="with --pid: sample this process only, not its Python children "
                        "(by default a server master's workers are included)")
    p.add_argument("--nonblocking", action="store_true",
                   help="with --pid: do not pause the process while sampling (less accurate)")
    p.add_argument("--seconds", type=float, default=None,
                   help="capture window for cpu/wall (default 30); for other types, a delta over N s")
    p.add_argument("--type", dest="kind", choices=TYPES, default=None,
                   help="profile type (default: the one in the URL, else cpu)")
    p.add_argument("-o", "--output", default=None,
                   help="file to write (default: <type>-<time>.pb.gz in the current directory)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds each read may wait; the whole capture must end within "
                        "--seconds + this (default: 1.5 x seconds + 5, or 65, in all)")
    p.add_argument("--token", default=None,
                   help="bearer token (prefer $PROFKIT_TOKEN: arguments are visible to other users)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="print the top N functions after capture (0: none)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--text", type=int, choices=(1, 2), default=None,
                   help="with --pid --type threads: print threads grouped (1) or all (2)")


def run(args: argparse.Namespace) -> int:
    """Dispatch to the PID or the URL source."""
    from profkit.errors import InputError

    if args.pid is not None:
        if args.url:
            raise InputError("give either a URL or --pid, not both")
        from profkit.cli import capture_pid

        return capture_pid.run(args)
    if not args.url:
        raise InputError("nothing to capture from: give a service URL or --pid PID")
    return _run_url(args)


def _run_url(args: argparse.Namespace) -> int:
    """Fetch, check, write atomically, print the top functions."""
    import sys
    import time

    from profkit.model.codec import write_atomic
    from profkit.report.fetch_url import (
        auth_headers,
        build_target,
        check_profile,
        fetch_with_progress,
    )

    target = build_target(args.url, args.kind, args.seconds, args.timeout)
    output = args.output or f"{target.kind}-{time.strftime('%Y%m%d-%H%M%S')}.pb.gz"
    show_bar = not args.no_progress and sys.stderr.isatty()
    if not show_bar:
        window = f" for {target.seconds:g} s" if target.seconds else ""
        print(f"capturing {target.kind}{window} from {target.url}", file=sys.stderr)
    body, ctype = fetch_with_progress(target, auth_headers(args.token), show_bar=show_bar)
    profile = check_profile(body, ctype, target.url)
    write_atomic(output, body)
    to_stdout = output == "-"  # the profile went to stdout: the summary must not
    print(f"wrote {output} ({len(profile.samples)} samples, {len(body)} bytes)",
          file=sys.stderr if to_stdout else sys.stdout)
    for note in (c for c in profile.comments if c.startswith("workers answered:")):
        print(note, file=sys.stderr if to_stdout else sys.stdout)  # a multi-worker server
    if args.top > 0 and profile.samples and not to_stdout:
        from profkit.cli.capture_summary import print_top

        print_top(profile, args.top)
    return 0
