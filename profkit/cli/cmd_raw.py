"""``profkit raw FILE [FILE...]``: pprof's ``-raw`` report; several files are merged.

Takes the report flags of ``profkit top`` (filters, sample index, bases); text by
default, ``--json`` for JSON. Local files are read on the report layer's fast
path (``views.raw_message``); URL and ``pid:N`` inputs, and filters that change
stacks, ask the driver to keep the Profile (``run_keeping_profile``), so a remote
profile is fetched once and a report is built once.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "raw"
HELP = "print a text dump of the (filtered) profile, as `go tool pprof -raw`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p)


def run_keeping_profile(args: argparse.Namespace, kind: str) -> int:
    """``run_report`` for reports that read the filtered Profile (raw, callgrind).

    With only local files and filters that only select samples the report layer
    rebuilds it cheaply from the file; with a URL or ``pid:N`` input the driver is
    asked to keep the one it fetched, and with filters that change stacks (which the
    report layer would otherwise build a second time for it) the one it built.
    """
    from profkit.cli._report_args import options_from_args
    from profkit.report.sources import is_local
    from profkit.views.raw_message import selection_only

    local = all(is_local(s) for s in [*args.files, *args.diff_base, *args.base])
    keep = not local or not selection_only(options_from_args(args))
    return run_report(args, kind, keep_profile=keep)


def run(args: argparse.Namespace) -> int:
    """Print the raw report of the merged inputs."""
    return run_keeping_profile(args, NAME)
