"""``profkit flamegraph FILE [FILE...] [--base BASE] -o report.html``: a self-contained page.

One HTML file with the viewer's scripts and style inlined and the flame payload
embedded: flame graph, inverted, callers/callees, top and diff work offline,
opened straight from disk (a CI artifact). Takes the report flags of ``top``
(filters, sample index, granularity); ``--base`` means a diff (pprof -diff_base).
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_view_arguments

NAME = "flamegraph"
HELP = "write a self-contained HTML flame graph (offline; flame, inverted, top, diff)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="profile files (merged if several)")
    p.add_argument("--base", "--diff-base", dest="base", action="append", default=[],
                   metavar="BASE", help="show the difference against BASE (pprof -diff_base)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file to write")
    add_view_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Build the flame report, write the page atomically, say where it is."""
    import os
    import sys

    from profkit.cli._report_args import options_from_args
    from profkit.model.codec import write_atomic
    from profkit.render.registry import produce
    from profkit.report import ReportRequest

    request = ReportRequest(sources=args.files, kind="flame", format="html",
                            options=options_from_args(args), diff_base=args.base)
    page = produce(request)
    data = page.encode("utf-8") if isinstance(page, str) else page
    write_atomic(args.output, data)
    print(f"wrote {os.fspath(args.output)} ({len(data)} bytes)", file=sys.stderr)
    return 0
