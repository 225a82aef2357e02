"""``profkit comments FILE [FILE...]``: pprof's ``-comments`` report; several files are merged.

Takes the report flags of ``profkit top`` (filters, sample index, bases); text by
default, ``--json`` for JSON. A thin adapter over the report layer.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "comments"
HELP = "print the profile's comments, as `go tool pprof -comments`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Print the comments report of the merged inputs."""
    return run_report(args, NAME)
