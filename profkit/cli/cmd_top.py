"""``profkit top FILE [FILE...]``: pprof's ``-top`` report; several files are merged.

``--diff-base B`` / ``--base B`` compare against B as pprof's flags do. Errors
name the file at fault; merged or subtracted values that overflow int64 are an
error (go's pprof wraps them around and prints nonsense).
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "top"
HELP = "print the top functions by flat or cumulative value, as `go tool pprof -top`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Print the top table of the merged inputs."""
    return run_report(args, NAME)
