"""``profkit merge A B ... -o OUT``: merge compatible profiles (pprof's Merge)."""

from __future__ import annotations

import argparse

NAME = "merge"
HELP = "merge compatible profiles into one pprof file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="profiles to merge")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="write the merged profile here (gzip'd profile.proto)")


def run(args: argparse.Namespace) -> int:
    """Merge the inputs and write the result atomically."""
    from profkit.analysis import merge
    from profkit.load import load_any
    from profkit.model.codec import serialize, write_atomic

    merged = merge([load_any(f) for f in args.files])
    write_atomic(args.output, serialize(merged))
    return 0
