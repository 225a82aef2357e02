"""``profkit traces FILE [FILE...]``: pprof's ``-traces`` report; several files are merged.

Takes the report flags of ``profkit top`` (filters, sample index, bases); text by
default, ``--json`` for JSON. A thin adapter over the report layer.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "traces"
HELP = "print every sample with its labels and stack, as `go tool pprof -traces`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Print the traces report of the merged inputs."""
    return run_report(args, NAME)
