"""``profkit peek REGEX FILE [FILE...]``: pprof's ``-peek``: callers and callees of the
functions matching REGEX, from the untrimmed graph (as pprof, no node is dropped).

No matching function is an error (exit 1), as in pprof.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "peek"
HELP = "print the callers and callees of functions matching REGEX, as `go tool pprof -peek`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p, pattern=True)


def run(args: argparse.Namespace) -> int:
    """Print the peek report of the merged inputs."""
    return run_report(args, NAME)
