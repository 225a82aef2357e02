"""``profkit top FILE [FILE...]``: pprof's ``-top`` report; several files are merged.

``--diff-base B`` / ``--base B`` compare against B as pprof's flags do. Errors
name the file at fault; merged or subtracted values that overflow int64 are an
error (go's pprof wraps them around and prints nonsense).
"""

from __future__ import annotations

import argparse

from profkit.cli._view_args import add_view_arguments, options_from_args, print_top

NAME = "top"
HELP = "print the top functions by flat or cumulative value, as `go tool pprof -top`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="profile files (merged if several)")
    base = p.add_mutually_exclusive_group()
    base.add_argument("--diff-base", metavar="BASE",
                      help="show the difference against BASE (pprof -diff_base)")
    base.add_argument("--base", metavar="BASE", help="subtract BASE (pprof -base)")
    p.add_argument("--normalize", action="store_true",
                   help="with a base: scale the inputs to the base's totals first")
    add_view_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Print the top table of the merged inputs."""
    options = options_from_args(args)
    with_labels = bool(options.tagfocus or options.tagignore)
    if len(args.files) == 1 and not (args.diff_base or args.base):
        from profkit.cli._fast_load import load_table

        table = load_table(args.files[0], with_labels=with_labels)
    else:
        from profkit.analysis import diff, subtract
        from profkit.analysis.stacks import from_profile
        from profkit.cli.cmd_merge import load_and_merge
        from profkit.errors import IncompatibleProfilesError
        from profkit.load import load_any
        from profkit.model.validate import check_int64

        profile = load_and_merge(args.files)
        base_path = args.diff_base or args.base
        if base_path:
            base = load_any(base_path)
            try:
                if args.diff_base:
                    profile = diff(base, profile, normalize=args.normalize)
                else:
                    profile = subtract(profile, base, normalize=args.normalize)
            except IncompatibleProfilesError as e:
                raise IncompatibleProfilesError(f"{base_path}: {e} (the base)") from None
            check_int64(profile, "difference")
        table = from_profile(profile, with_labels=with_labels)
    from profkit.model.errors import ProfileFormatError
    from profkit.views.top import top_from_table

    try:
        result = top_from_table(table, options)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{', '.join(args.files)}: {e}") from None
    print_top(result, args.json)
    return 0
