"""``profkit list REGEX FILE [FILE...]``: pprof's ``-list``, annotated source from disk.

Functions whose name matches REGEX are listed with flat/cum per source line. A
pattern that does not compile is a bad option value, as everywhere in the CLI
(exit 1, one line naming it and the position); a source file that is missing or has changed gets a note, not an error.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "list"
HELP = "print annotated source of the functions matching REGEX, as `go tool pprof -list`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p, pattern=True)


def run(args: argparse.Namespace) -> int:
    """Print the annotated source of the matching functions of the merged inputs."""
    from profkit.analysis.filter import compile_regex

    compile_regex("list", args.pattern)  # InputError (exit 1) before any input is read
    return run_report(args, NAME)
