"""``profkit merge A B ... -o OUT``: merge compatible profiles (pprof's Merge).

``load_and_merge`` is shared with ``profkit top``: the first incompatible file is
named in the error, and a merged value that overflows int64 is an error (pprof's
file format cannot hold it; go's pprof silently wraps around).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from profkit.model.profile import Profile

NAME = "merge"
HELP = "merge compatible profiles into one pprof file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="profiles to merge")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="write the merged profile here (gzip'd profile.proto)")


def load_and_merge(paths: Sequence[str]) -> Profile:
    """Load ``paths`` (any format) and merge them.

    Raises ProfkitError with one line: a file that cannot be loaded; the first file
    incompatible with ``paths[0]`` (``B: incompatible sample types ... (merging with A)``);
    merged values that do not fit int64.
    """
    from profkit.analysis import merge
    from profkit.analysis.merge import check_compatible
    from profkit.errors import IncompatibleProfilesError
    from profkit.load import load_any
    from profkit.model.validate import check_int64

    profiles = [load_any(f) for f in paths]
    for path, p in zip(paths[1:], profiles[1:]):
        try:
            check_compatible(profiles[0], p)
        except IncompatibleProfilesError as e:
            raise IncompatibleProfilesError(f"{path}: {e} (merging with {paths[0]})") from None
    merged = merge(profiles)
    if len(profiles) > 1:
        check_int64(merged, "merged profile")
    return merged


def run(args: argparse.Namespace) -> int:
    """Merge the inputs and write the result atomically."""
    from profkit.model.codec import serialize, write_atomic

    merged = load_and_merge(args.files)
    write_atomic(args.output, serialize(merged))
    return 0
