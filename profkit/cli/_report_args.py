"""What every report command shares: pprof's report flags, the request they make, the run.

A report command (``cmd_top``, ``cmd_tree`` ...) is an adapter: ``add_report_arguments``
registers the flags, ``request_from_args`` turns them into a ``ReportRequest``, and
``run_report`` builds it, renders it with the registered renderer and writes the
result: the report to stdout (or ``--write FILE``), and with ``-o FILE`` the
filtered profile as pprof. Outputs are written atomically; a binary report is never
printed to a terminal.

Both spellings of every flag are accepted, so pprof command lines paste as they
are: ``--focus x``, ``--focus=x``, ``-focus=x``, ``-focus x``; underscores or dashes
(``--show-from``, ``-show_from``); Go booleans ``-cum``, ``-cum=true``,
``-trim=false``; pprof's shortcuts ``-inuse_space``, ``-alloc_objects``,
``-mean_delay`` ..., ``-lines``, ``-files``, ``-functions``, ``-filefunctions``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from profkit.options import GRANULARITIES, ViewOptions
from profkit.report.request import ReportRequest

__all__ = [
    "add_report_arguments", "add_view_arguments", "go_style_args", "options_from_args",
    "request_from_args", "run_report",
]

#: pprof's sample-index shortcut flags: flag -> (sample type, mean)
SAMPLE_SHORTCUTS: Dict[str, Tuple[str, bool]] = {
    "inuse_space": ("inuse_space", False), "inuse_objects": ("inuse_objects", False),
    "alloc_space": ("alloc_space", False), "alloc_objects": ("alloc_objects", False),
    "total_delay": ("delay", False), "mean_delay": ("delay", True),
    "contentions": ("contentions", False),
}
#: regex and text flags: (ViewOptions field, help)
_TEXT_FLAGS = (
    ("focus", "keep only samples with a frame matching RE"),
    ("ignore", "drop samples with a frame matching RE"),
    ("hide", "remove frames matching RE from stacks"),
    ("show", "keep only frames matching RE in stacks"),
    ("show_from", "drop the callers of the outermost frame matching RE"),
    ("prune_from", "drop the callees of the innermost frame matching RE"),
    ("tagfocus", "keep only samples whose labels match (pprof syntax)"),
    ("tagignore", "drop samples whose labels match (pprof syntax)"),
    ("tagshow", "keep only labels whose key matches RE"),
    ("taghide", "remove labels whose key matches RE"),
    ("tagroot", "label keys (comma-separated) shown as frames above the root"),
    ("tagleaf", "label keys (comma-separated) shown as frames below the leaf"),
)
#: boolean flags: (ViewOptions field, extra spellings, help)
_BOOL_FLAGS = (
    ("cum", (), "sort by cumulative value"),
    ("mean", (), "show value / count per node (type mean_T)"),
    ("drop_negative", ("dropneg",), "hide nodes with a negative value"),
    ("relative_percentages", ("rel",), "percentages of what the filters kept"),
    ("call_tree", ("calltree",), "call graphs: split nodes by calling context"),
    ("trim", (), "apply node count and fractions (default; -trim=false: show everything)"),
    ("noinlines", (), "attribute inlined calls to the function they were inlined into"),
    ("all_frames", (), "ignore the profile's own drop_frames/keep_frames"),
)
_BOOL_NAMES = {"flat", "normalize", *SAMPLE_SHORTCUTS, *GRANULARITIES,
               *(n for n, extra, _ in _BOOL_FLAGS for n in (n, *extra))}
_TRUE = ("", "1", "t", "true", "yes", "on")
_FALSE = ("0", "f", "false", "no", "off")


def _spellings(name: str, *extra: str) -> List[str]:
    """``--show-from``, ``-show_from``, ``--show_from`` (and the same for ``extra``)."""
    out: List[str] = []
    for n in (name, *extra):
        for s in (f"--{n.replace('_', '-')}", f"-{n}", f"--{n}"):
            if s not in out:
                out.append(s)
    return out


def go_style_args(argv: Sequence[str]) -> List[str]:
    """Rewrite Go booleans with a value: ``-cum=true`` -> ``-cum``, ``-trim=false`` ->
    ``--no-trim``; other arguments (and everything after ``--``) unchanged."""
    out: List[str] = []
    for i, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg.startswith("-") and "=" in arg:
            key, value = arg.split("=", 1)
            name = key.lstrip("-").replace("-", "_")
            if name in _BOOL_NAMES and value.lower() in _TRUE + _FALSE:
                if value.lower() in _TRUE:
                    out.append(f"-{name}")
                elif name == "flat":
                    out.append("-cum")
                elif name not in SAMPLE_SHORTCUTS and name not in GRANULARITIES:
                    out.append(f"--no-{name.replace('_', '-')}")
                continue
        out.append(arg)
    return out


def _accept_go_booleans(p: argparse.ArgumentParser) -> None:
    parse = p.parse_known_args

    def parse_known_args(args: Optional[Sequence[str]] = None,
                         namespace: Optional[argparse.Namespace] = None) -> Any:
        return parse(go_style_args(sys.argv[1:] if args is None else args), namespace)

    setattr(p, "parse_known_args", parse_known_args)  # noqa: B010 (an instance override)


def add_view_arguments(p: argparse.ArgumentParser) -> None:
    """Register pprof's view flags (filters, sample index, granularity, limits) on ``p``."""
    d = ViewOptions()
    p.add_argument(*_spellings("sample_index", "si"), dest="sample_index", default="",
                   metavar="TYPE", help="sample type name or index (default: pprof's default)")
    for flag, (stype, mean) in SAMPLE_SHORTCUTS.items():
        p.add_argument(f"-{flag}", f"--{flag.replace('_', '-')}", dest="sample_shortcut",
                       action="store_const", const=flag,
                       help=f"same as -sample_index={stype}" + (" -mean" if mean else ""))
    for name, extra, what in _BOOL_FLAGS:
        p.add_argument(*_spellings(name, *extra), dest=name, action="store_true", help=what)
        p.add_argument(f"--no-{name.replace('_', '-')}", dest=name, action="store_false",
                       help=argparse.SUPPRESS)
        p.set_defaults(**{name: getattr(d, name)})
    p.add_argument("-flat", "--flat", dest="cum", action="store_false",
                   help="sort by flat value (the default)")
    p.add_argument("-n", *_spellings("nodecount"), dest="nodecount", type=int, default=0,
                   metavar="N", help="show at most N rows (default: all)")
    for name, what in (("nodefraction", "nodes"), ("edgefraction", "edges")):
        p.add_argument(*_spellings(name), dest=name, type=float, default=getattr(d, name),
                       metavar="F", help=f"drop {what} below F of the total "
                       f"(default {getattr(d, name)})")
    for name, what in _TEXT_FLAGS:
        p.add_argument(*_spellings(name), dest=name, default="", metavar="RE", help=what)
    p.add_argument("-g", *_spellings("granularity"), dest="granularity", default="functions",
                   choices=GRANULARITIES,
                   help="aggregate by functions (default), filefunctions, files or lines")
    for g in GRANULARITIES:
        p.add_argument(f"-{g}", f"--{g}", dest="granularity", action="store_const", const=g,
                       help=f"same as -granularity={g}")
    p.add_argument(*_spellings("unit"), dest="unit", default="minimum", metavar="UNIT",
                   help="print values in UNIT (ms, MB ...; default: pprof's choice)")
    p.add_argument(*_spellings("divide_by"), dest="divide_by", type=float, default=1.0,
                   metavar="X", help="print values divided by X")
    p.add_argument(*_spellings("source_path"), dest="source_path", default="", metavar="DIRS",
                   help=f"search path for source files ('{os.pathsep}'-separated; "
                   "default: the current directory)")
    p.add_argument(*_spellings("trim_path"), dest="trim_path", default="", metavar="PATHS",
                   help="prefixes to cut from source file names before showing or "
                   f"searching them ('{os.pathsep}'-separated)")
    _accept_go_booleans(p)


def add_report_arguments(p: argparse.ArgumentParser, *, pattern: bool = False,
                         formats: tuple = ("text", "json")) -> None:
    """Register the inputs, bases, view flags and outputs of a report command."""
    if pattern:
        p.add_argument("pattern", metavar="REGEX", help="functions to report on")
    p.add_argument("files", nargs="+", metavar="SOURCE",
                   help="profile files, URLs (fetched as go tool pprof does) or pid:N; "
                   "merged if several")
    base = p.add_mutually_exclusive_group()
    base.add_argument(*_spellings("diff_base"), dest="diff_base", metavar="BASE",
                      action="append", default=[],
                      help="show the difference against BASE (pprof -diff_base)")
    base.add_argument(*_spellings("base"), dest="base", metavar="BASE", action="append",
                      default=[], help="subtract BASE (pprof -base)")
    p.add_argument(*_spellings("normalize"), dest="normalize", action="store_true",
                   help="with a base: scale the inputs to the base's totals first")
    p.add_argument(*_spellings("seconds"), dest="seconds", type=float, default=None,
                   metavar="S", help="URL inputs: profile for S seconds (go tool pprof -seconds)")
    p.add_argument(*_spellings("timeout"), dest="timeout", type=float, default=None,
                   metavar="S", help="URL inputs: give up after S seconds (-timeout)")
    add_view_arguments(p)
    if "json" in formats:
        p.add_argument("--json", "-json", action="store_const", const="json", dest="format",
                       help="print the report as JSON")
    p.set_defaults(format=formats[0])
    p.add_argument("-o", "--output", metavar="FILE",
                   help="also write the filtered profile as pprof (gzip'd profile.proto)")
    p.add_argument("--write", metavar="FILE",
                   help="write the report to FILE instead of standard output")


def options_from_args(args: argparse.Namespace) -> ViewOptions:
    """Return ViewOptions from parsed flags (InputError on a bad value)."""
    values: Dict[str, Any] = {}
    for name in ("sample_index", "nodecount", "nodefraction", "edgefraction", "granularity",
                 "unit", "divide_by", "source_path", "trim_path", *(n for n, _ in _TEXT_FLAGS),
                 *(n for n, _, _ in _BOOL_FLAGS)):
        if hasattr(args, name):
            values[name] = getattr(args, name)
    shortcut = getattr(args, "sample_shortcut", None)
    if shortcut:
        stype, mean = SAMPLE_SHORTCUTS[shortcut]
        values["sample_index"] = stype
        values["mean"] = values.get("mean", False) or mean
    return ViewOptions(**values)


def request_from_args(args: argparse.Namespace, kind: str) -> ReportRequest:
    """Return the ReportRequest the parsed flags of a ``kind`` command ask for."""
    return ReportRequest(
        sources=args.files, kind=kind, format=args.format,
        options=options_from_args(args), diff_base=args.diff_base, subtract=args.base,
        normalize=args.normalize, pattern=getattr(args, "pattern", "") or "",
        seconds=getattr(args, "seconds", None), timeout=getattr(args, "timeout", None),
        want_profile=bool(args.output), progress=sys.stderr.isatty(),
    )
def _check_outputs_apart(profile_out: Optional[str], report_out: Optional[str]) -> None:
    """Refuse ``-o`` and the report landing in one place, or the profile on a terminal.

    Raises CommandError (exit 2) when both would go to standard output or to the same
    file (one would be written over the other), InputError for ``-o -`` on a terminal.
    """
    from profkit.errors import CommandError, InputError

    if not profile_out:
        return
    report_to = report_out or "-"
    if profile_out == "-" and report_to == "-":
        raise CommandError("-o - and the report would both go to standard output: "
                           "give --write FILE for the report or -o FILE", 2)
    if profile_out != "-" and report_to != "-" and (
            os.path.realpath(profile_out) == os.path.realpath(report_to)):
        raise CommandError(f"-o and --write both name {profile_out}: give two files", 2)
    if profile_out == "-" and sys.stdout.isatty():
        raise InputError("the -o profile is binary: give -o FILE or redirect stdout")


def run_report(args: argparse.Namespace, kind: str, *, keep_profile: bool = False) -> int:
    """Build, render and write the report the flags ask for; return the exit code.

    ``keep_profile`` asks the driver to keep the filtered Profile whatever the
    renderer says (a fetched URL input is then not fetched twice).
    """
    from profkit.errors import InputError
    from profkit.model.fileio import write_atomic  # not codec: protobuf is ~20 ms to import
    from profkit.render.registry import find, render
    from profkit.report import build

    request = request_from_args(args, kind)
    renderer = find(request.kind, request.format)
    if renderer.binary and not args.write and sys.stdout.isatty():
        raise InputError(
            f"{kind} {request.format} output is binary: give --write FILE or redirect stdout"
        )
    _check_outputs_apart(args.output, args.write)
    if renderer.needs_profile or keep_profile:
        request = request.with_changes(want_profile=True)
    report = build(request)
    out = render(renderer, report)
    data = out.encode("utf-8") if isinstance(out, str) else out
    if args.output:  # what go tool pprof -proto writes (divide_by included)
        from profkit.render.proto import render as render_proto

        write_atomic(args.output, render_proto(report))
    write_atomic(args.write or "-", data)  # "-": stdout, a write error is one line
    return 0
