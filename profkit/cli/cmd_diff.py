"""``profkit diff BASE NEW``: top of NEW against BASE, as ``go tool pprof -diff_base``.

``-o OUT`` also writes the diff as pprof: base samples carry ``pprof::base=true``
and negated values, so ``go tool pprof OUT`` reopens it as a diff.
"""

from __future__ import annotations

import argparse

from profkit.cli._view_args import add_view_arguments, options_from_args, print_top

NAME = "diff"
HELP = "compare two profiles (pprof -diff_base): print the top table of NEW - BASE"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("base", metavar="BASE", help="the baseline profile")
    p.add_argument("new", metavar="NEW", help="the profile to compare")
    p.add_argument("--normalize", action="store_true",
                   help="scale NEW to BASE's totals first (pprof -normalize)")
    p.add_argument("-o", "--output", metavar="OUT", help="also write the diff as pprof")
    add_view_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Diff, optionally save, and print the top table."""
    from profkit.analysis import diff
    from profkit.errors import IncompatibleProfilesError
    from profkit.load import load_any
    from profkit.model.validate import check_int64
    from profkit.views.top import top

    options = options_from_args(args)
    base, new = load_any(args.base), load_any(args.new)
    try:
        result = diff(base, new, normalize=args.normalize)
    except IncompatibleProfilesError as e:
        raise IncompatibleProfilesError(f"{args.new}: {e} (against base {args.base})") from None
    check_int64(result, "difference")
    table = top(result, options)  # validates the options before anything is written
    if args.output:
        from profkit.model.codec import serialize, write_atomic

        write_atomic(args.output, serialize(result))
    print_top(table, args.json)
    return 0
