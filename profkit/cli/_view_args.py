"""Shared CLI flags for views (``top``, ``diff``): they map 1:1 onto ViewOptions."""

from __future__ import annotations

import argparse

from profkit.options import GRANULARITIES, ViewOptions


def add_view_arguments(p: argparse.ArgumentParser) -> None:
    """Register pprof's report flags on ``p``."""
    p.add_argument("--sample-index", "--si", default="", metavar="TYPE",
                   help="sample type name or index (default: pprof's default type)")
    p.add_argument("--cum", action="store_true", help="sort by cumulative value")
    p.add_argument("-n", "--nodecount", type=int, default=0, metavar="N",
                   help="show at most N rows (default: all)")
    p.add_argument("--nodefraction", type=float, default=0.005, metavar="F",
                   help="drop nodes with |cum| below F of the total (default 0.005)")
    for name, what in (
        ("focus", "keep only samples with a frame matching RE"),
        ("ignore", "drop samples with a frame matching RE"),
        ("hide", "remove frames matching RE from stacks"),
        ("show", "keep only frames matching RE in stacks"),
        ("tagfocus", "keep only samples whose labels match (pprof syntax)"),
        ("tagignore", "drop samples whose labels match (pprof syntax)"),
    ):
        p.add_argument(f"--{name}", default="", metavar="RE", help=what)
    p.add_argument("--granularity", "-g", default="functions", choices=GRANULARITIES,
                   help="aggregate by functions (default), filefunctions, files or lines")
    p.add_argument("--json", action="store_true", help="print the table as JSON")


def options_from_args(args: argparse.Namespace) -> ViewOptions:
    """Return ViewOptions from parsed flags (InputError on a bad value)."""
    return ViewOptions(
        sample_index=args.sample_index, focus=args.focus, ignore=args.ignore,
        hide=args.hide, show=args.show, tagfocus=args.tagfocus, tagignore=args.tagignore,
        granularity=args.granularity, nodecount=args.nodecount,
        nodefraction=args.nodefraction, cum=args.cum,
    )


def print_top(table: object, as_json: bool) -> None:
    """Print a TopTable as pprof text or JSON on stdout."""
    import sys

    from profkit.views.top import TopTable

    assert isinstance(table, TopTable)
    if as_json:
        import json

        sys.stdout.write(json.dumps(table.to_dict(), indent=1) + "\n")
    else:
        from profkit.render.text import render_top

        sys.stdout.write(render_top(table))
