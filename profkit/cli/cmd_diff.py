"""``profkit diff``: compare profiles, once (pprof's ``-diff_base``) or over repeats.

``profkit diff BASE NEW`` prints the top table of NEW against BASE, as ``go tool
pprof -diff_base=BASE NEW -top``; ``-o OUT`` also writes the diff as pprof (base
samples carry ``pprof::base=true`` and negated values, so ``go tool pprof OUT``
reopens it as a diff).

``profkit diff --base A1 A2 A3 --new B1 B2 B3`` is the repeated diff (report kind
``repeated_diff``, ``profkit.bench.diffstats``): per function, the mean flat and
cum of each side normalised per second of each profile's duration (or per total),
the change, and whether it is significant across the repeats (Welch's t or the U
test, Holm-corrected); new and vanished functions are marked. ``--json`` and
``--markdown`` print it for the viewer and for pull requests.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_view_arguments, options_from_args, run_report

NAME = "diff"
HELP = "compare profiles: NEW - BASE as pprof -diff_base, or --base A.. --new B.. with significance"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    p.add_argument("pair", nargs="*", metavar="BASE NEW", help="the baseline and the new profile")
    p.add_argument("--base", nargs="+", default=[], metavar="A",
                   help="repeated diff: the base profiles (one per run)")
    p.add_argument("--new", nargs="+", default=[], metavar="B",
                   help="repeated diff: the new profiles (one per run)")
    p.add_argument("--per", choices=("auto", "second", "total", "raw"), default="auto",
                   help="repeated diff: normalise per second of duration, per total, or not "
                   "(default: per second when every profile has a duration)")
    p.add_argument("--test", choices=("welch", "mwu"), default="welch",
                   help="repeated diff: Welch's t (default) or Mann-Whitney U")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="repeated diff: significance level after Holm (default 0.05)")
    p.add_argument("--normalize", action="store_true",
                   help="BASE NEW: scale NEW to BASE's totals first (pprof -normalize)")
    p.add_argument("-o", "--output", metavar="OUT", help="BASE NEW: also write the diff as pprof")
    p.add_argument("--json", action="store_const", const="json", dest="format",
                   help="print the report as JSON")
    p.add_argument("--markdown", action="store_const", const="markdown", dest="format",
                   help="repeated diff: print a Markdown table")
    p.add_argument("--write", metavar="FILE", help="write the report to FILE, not stdout")
    p.set_defaults(format="text")
    add_view_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Run the pairwise or the repeated diff."""
    from profkit.errors import CommandError

    def usage(message: str) -> CommandError:
        return CommandError(message, exit_code=2)

    repeated = bool(args.base or args.new)
    if repeated and args.pair:
        raise usage("give either BASE NEW or --base A.. --new B.., not both")
    if not repeated:
        if len(args.pair) != 2:
            raise usage("give BASE NEW (two profiles) or --base A1 A2 .. --new B1 B2 ..")
        if args.format == "markdown":
            raise usage("--markdown is for the repeated diff (--base A.. --new B..)")
        args.files, args.diff_base = [args.pair[1]], [args.pair[0]]
        args.base = []
        return run_report(args, "top")
    if not args.base or not args.new:
        raise usage("a repeated diff needs both --base A1 A2 .. and --new B1 B2 ..")
    if args.output or args.normalize:
        raise usage("-o and --normalize are for BASE NEW, not the repeated diff")
    if not 0 < args.alpha < 1:
        raise usage(f"--alpha must be between 0 and 1, not {args.alpha}")
    return _run_repeated(args)


def _run_repeated(args: argparse.Namespace) -> int:
    from profkit.bench import diff_render
    from profkit.bench.diffstats import repeated_diff
    from profkit.model.codec import write_atomic
    from profkit.report.request import ReportRequest

    request = ReportRequest(
        sources=args.new, diff_base=args.base, kind="repeated_diff", format=args.format,
        options=options_from_args(args),
    )
    d = repeated_diff(request, per=args.per, test=args.test, alpha=args.alpha)
    fmt = {"text": diff_render.format_text, "json": diff_render.format_json,
           "markdown": diff_render.format_markdown}[args.format]
    data = fmt(d).encode("utf-8")
    write_atomic(args.write or "-", data)  # "-": stdout, a write error is one line
    return 0
