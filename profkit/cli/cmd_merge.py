"""``profkit merge A B ... -o OUT``: merge compatible profiles (pprof's Merge).

Loading and merging is the report layer's (``profkit.report.sources.load_merged``):
the first incompatible file is named in the error, and a merged value that
overflows int64 is an error (pprof's file format cannot hold it; go's pprof
silently wraps around).
"""

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
    from profkit.model.codec import serialize, write_atomic
    from profkit.report.sources import load_merged

    write_atomic(args.output, serialize(load_merged(args.files)))
    return 0
