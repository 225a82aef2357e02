"""``profkit convert IN -o OUT``: convert between pprof, collapsed stacks, speedscope, pstats, memray.

The input format is sniffed from content (``profkit.importers``); the output format
comes from OUT's extension or ``--to``. Collapsed output writes ``samples/count``
by default (folded stacks are counts), speedscope the profile's default type;
``--sample-index`` picks another (text outputs only). Output is written
atomically: on any error nothing is written and the exit code is 1 with one line
on stderr.
"""

from __future__ import annotations

import argparse
import math
from typing import Optional

NAME = "convert"
HELP = ("convert a profile between pprof, collapsed stacks and speedscope "
        "(input: also pstats, memray captures)")

OUTPUT_FORMATS = ("pprof", "collapsed", "speedscope")
_EXTENSIONS = (
    (".pb.gz", "pprof"), (".pb", "pprof"), (".pprof", "pprof"),
    (".folded", "collapsed"), (".collapsed", "collapsed"), (".txt", "collapsed"),
    (".json", "speedscope"),
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("input", help="profile: pprof, speedscope JSON, collapsed stacks, pstats or a memray capture")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.pb.gz/.pb/.pprof, .folded/.collapsed/.txt, .json)")
    p.add_argument("--to", choices=OUTPUT_FORMATS, help="output format (default: from -o's extension)")
    p.add_argument("--sample-index", default=None,
                   help="sample type for collapsed/speedscope output (name or number; "
                        "default: samples/count if present for collapsed, else the "
                        "profile's default)")
    p.add_argument("--rate", type=float, default=None, metavar="HZ",
                   help="sampling rate of a collapsed-stacks input: adds cpu/nanoseconds")


def output_format(path: str, to: Optional[str]) -> str:
    """Return the output format: ``to`` if given, else from ``path``'s extension."""
    from profkit.errors import InputError

    if to:
        return to
    lower = path.lower()
    for ext, fmt in _EXTENSIONS:
        if lower.endswith(ext):
            return fmt
    raise InputError(
        f"cannot tell the output format from {path!r}: use .pb.gz, .folded or .json, "
        "or --to pprof|collapsed|speedscope"
    )


def run(args: argparse.Namespace) -> int:
    """Load the input, render it in the output format, write it atomically."""
    from profkit.errors import InputError
    from profkit.load import load_any
    from profkit.model.codec import serialize, write_atomic

    fmt = output_format(args.output, args.to)
    if args.rate is not None and not (math.isfinite(args.rate) and args.rate > 0):
        raise InputError(f"--rate must be a positive, finite number of Hz, got {args.rate}")
    if fmt == "pprof" and args.sample_index is not None:
        raise InputError(
            "--sample-index applies to collapsed and speedscope output only: "
            "pprof output keeps every sample type"
        )
    profile = load_any(args.input, rate_hz=args.rate)
    if fmt == "pprof":
        data = serialize(profile)
    else:
        from profkit.render import collapsed, speedscope

        try:
            if fmt == "collapsed" and args.sample_index is None:
                index = collapsed.default_index(profile)
            else:
                index = profile.sample_index(args.sample_index)
        except KeyError as e:
            raise InputError(str(e.args[0])) from None
        render = collapsed.render if fmt == "collapsed" else speedscope.render
        data = render(profile, index).encode("utf-8")
    write_atomic(args.output, data)
    return 0
