"""``profkit bench compare|noise|history|ab``: benchmark regression gating for CI.

Exit codes: 0 no significant regression beyond the threshold, 1 a regression, 2 usage or input
error (malformed file, another tool's JSON, missing file, bad option, a ``--fail-on`` that matches
nothing; with ``--strict`` also a blind gate: a gating benchmark that cannot reach significance). scipy, rich and plotly are
imported inside ``run``.
"""

from __future__ import annotations

import argparse
import glob
import sys
from typing import List, Optional, Sequence

NAME = "bench"
HELP = "compare benchmark runs with statistics CI can gate on (pytest-benchmark, pyperf, Go)"


def parse_threshold(text: str) -> float:
    """Parse a percentage into a fraction: ``5%`` or ``5`` -> 0.05, ``0.5%`` -> 0.005, ``0`` -> 0.

    A plain number is always a percentage; a plain number between 0 and 1 (``0.05``: 5 % or
    0.05 %?) is rejected as ambiguous: write it with ``%``. Raises ArgumentTypeError.
    """
    raw = text.strip()
    try:
        value = float(raw[:-1] if raw.endswith("%") else raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid threshold {text!r}: use a percentage like 5%") from None
    if not raw.endswith("%") and 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"ambiguous threshold {text!r}: write {value:g}% or {value * 100:g}% (a plain number is "
            "a percentage)")
    if not 0 <= value < 1000:
        raise argparse.ArgumentTypeError(f"threshold {text!r} out of range (0% to 1000%)")
    return value / 100.0


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be between 0 and 1")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register the ``compare``, ``noise`` and ``history`` subcommands."""
    sub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")
    sub.required = True

    c = sub.add_parser("compare", help="compare BASE and NEW runs benchmark by benchmark",
                       description="Compare benchmark results; exit 1 on a significant regression.")
    c.add_argument("base", help="base results: file, directory or comma-separated list / glob")
    c.add_argument("new", help="new results: file, directory or comma-separated list / glob")
    c.add_argument("--base", dest="more_base", action="append", default=[], metavar="FILE",
                   help="add another base file (repeatable; all files of a side are pooled)")
    c.add_argument("--new", dest="more_new", action="append", default=[], metavar="FILE",
                   help="add another new file (repeatable)")
    _stat_options(c)
    c.add_argument("--sample-unit", choices=("auto", "round", "run"), default="auto",
                   help="what one sample is: a round, or a run (file) summarised by its median; auto "
                        "uses runs when each side has enough files (default)")
    c.add_argument("--fail-on", action="append", default=[], metavar="REGEX",
                   help="only benchmarks whose name matches gate the exit code (repeatable); a regex "
                        "that matches no benchmark is an error")
    c.add_argument("--strict", action="store_true",
                   help="exit 2 when a gating benchmark cannot reach significance with the samples "
                        "given (the gate is blind) or its MDE exceeds the threshold (the gate cannot "
                        "see it), instead of 0 with a warning")
    c.add_argument("--format", choices=("table", "markdown", "json", "github"), default="table")
    c.add_argument("-o", "--output", help="write the report to this file instead of stdout")
    c.add_argument("--all", action="store_true",
                   help="list every benchmark in table/Markdown (default: over 50, only those with a verdict)")
    c.add_argument("--markdown", metavar="FILE", help="also write a Markdown report (PR comment)")
    c.add_argument("--html", metavar="FILE",
                   help="also write a self-contained HTML table; each regression links to a diff "
                        "flame graph (FILE-stem.flame-N.html beside it) when profiles were recorded")
    c.add_argument("--profiles", action="store_true",
                   help="for each slower benchmark show the functions whose time per call grew most, "
                        "from the profiles `pytest --profkit-profile DIR` recorded in the runs")
    c.add_argument("--top", type=int, default=10, help="functions shown per profile diff (default 10)")

    n = sub.add_parser("noise", help="estimate the noise floor from A/A runs and suggest a threshold")
    n.add_argument("files", nargs="+", help="result files or directories of runs of the same code")
    _stat_options(n, threshold=False)
    n.add_argument("--format", choices=("table", "json"), default="table")

    h = sub.add_parser("history", help="trend per benchmark over a directory of runs, change points")
    h.add_argument("dir", nargs="+", help="directory of runs (pytest-benchmark .benchmarks/ layout) or files")
    h.add_argument("-o", "--output", metavar="HTML", help="write a self-contained plotly chart")
    h.add_argument("--threshold", type=parse_threshold, default=0.05,
                   help="minimum step size for a change point (default 5%%)")
    h.add_argument("--alpha", type=_probability, default=0.01,
                   help="significance level of the change-point test (default 0.01)")
    h.add_argument("--branch", help="only runs whose commit_info.branch is this (runs without one kept)")
    h.add_argument("--machine", help="only runs from this machine (the .benchmarks/<machine-id>/ directory, "
                                     "else machine_info.node); by default one series per machine")
    h.add_argument("--format", choices=("table", "json"), default="table")

    from profkit.cli import bench_ab

    bench_ab.add_parser(sub, _stat_options)


def _stat_options(p: argparse.ArgumentParser, threshold: bool = True) -> None:
    if threshold:
        p.add_argument("--threshold", type=parse_threshold, default=0.05,
                       help="minimum change to report, a percentage: 5%%, 5 or 0.5%% (default 5%%)")
    p.add_argument("--alpha", type=_probability, default=0.05, help="significance level (default 0.05)")
    p.add_argument("--confidence", type=_probability, default=0.95,
                   help="confidence level of the median intervals (default 0.95)")


def expand_side(spec: str, extra: Sequence[str]) -> List[str]:
    """Split a comma-separated list, expand quoted globs; files that don't exist pass through."""
    out: List[str] = []
    for part in [s for s in spec.split(",") if s] + list(extra):
        matches = sorted(glob.glob(part)) if any(ch in part for ch in "*?[") else []
        out.extend(matches or [part])
    return out


def _emit(text: str, output: Optional[str]) -> None:
    if output:
        from profkit.model.codec import write_atomic

        write_atomic(output, text.encode("utf-8"))
    else:
        sys.stdout.write(text)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the subcommand; every ProfkitError becomes exit code 2 (input/usage)."""
    from profkit.errors import CommandError, ProfkitError

    try:
        if args.bench_command == "compare":
            return _compare(args)
        if args.bench_command == "noise":
            return _noise(args)
        if args.bench_command == "ab":
            from profkit.cli.bench_ab import run as run_ab

            return run_ab(args, _compare)
        return _history(args)
    except CommandError:
        raise
    except ProfkitError as e:
        raise CommandError(str(e), exit_code=2) from None


def _compare(args: argparse.Namespace) -> int:
    import re

    from profkit.bench import report
    from profkit.bench.load import check_one_measure, load_runs
    from profkit.bench.runs import machine_note
    from profkit.bench.samples import pool
    from profkit.bench.verdict import CompareOptions, compare
    from profkit.bench.verdict_notes import blind_warning, insensitive_warning
    from profkit.errors import InputError

    for pattern in args.fail_on:
        try:
            re.compile(pattern)
        except re.error:
            raise InputError(f"--fail-on {pattern!r} is not a valid regular expression") from None
    base_runs = load_runs(expand_side(args.base, args.more_base))
    new_runs = load_runs(expand_side(args.new, args.more_new))
    check_one_measure(base_runs + new_runs)
    names = sorted({r.name for run in base_runs + new_runs for r in run.results})
    for pattern in args.fail_on:
        if not any(re.search(pattern, name) for name in names):
            shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
            raise InputError(f"--fail-on {pattern!r} matches no benchmark (the gate would be off); "
                             f"names look like: {shown}")
    options = CompareOptions(alpha=args.alpha, threshold=args.threshold, confidence=args.confidence,
                             fail_on=tuple(args.fail_on), sample_unit=args.sample_unit,
                             strict=args.strict)
    comparison = compare(pool(base_runs), pool(new_runs), options)
    note = machine_note(base_runs, new_runs)
    if note:
        comparison.notes.append(note)
    if not any(r.base and r.new for r in comparison.rows):
        raise InputError("no benchmark is present on both sides: are BASE and NEW runs of the same suite?")
    profiles = None
    if args.profiles:
        from profkit.bench.profiles import profile_diffs

        profiles = profile_diffs(comparison, base_runs, new_runs, top=args.top)
    _emit(report.render(comparison, args.format, profiles, show_all=args.all), args.output)
    if args.markdown:
        _emit(report.render_markdown(comparison, profiles, show_all=args.all), args.markdown)
    if getattr(args, "html", None):  # bench ab reuses _compare without --html
        try:
            from profkit.viewer.bench_html import write_compare_html
        except ImportError as e:
            raise InputError(f"--html needs the viewer's packages ({e.name} is missing): "
                             "pip install 'profkit[web]'") from None
        write_compare_html(comparison, base_runs, new_runs, args.html)
    for warning in (blind_warning(comparison), insensitive_warning(comparison)):
        if warning:
            print(f"profkit: warning: {warning}", file=sys.stderr)
    return comparison.exit_code


def _noise(args: argparse.Namespace) -> int:
    from profkit.bench.load import check_one_measure, load_runs
    from profkit.bench.noise import estimate_noise, render_noise

    runs = load_runs(args.files)
    check_one_measure(runs)
    result = estimate_noise(runs, alpha=args.alpha, confidence=args.confidence)
    sys.stdout.write(render_noise(result, args.format))
    return 0


def _history(args: argparse.Namespace) -> int:
    from profkit.bench.history import build_history, render_history, write_chart
    from profkit.bench.load import check_one_measure, load_runs

    runs = load_runs(args.dir)
    check_one_measure(runs)
    hist = build_history(runs, threshold=args.threshold, alpha=args.alpha, branch=args.branch,
                         machine=args.machine)
    sys.stdout.write(render_history(hist, args.format))
    if args.output:
        write_chart(hist, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    return 0
