"""``profkit callgrind FILE [FILE...] [--write callgrind.out]``: pprof's ``-callgrind``.

Writes the call graph in callgrind's format (KCachegrind, QCachegrind) to
``--write FILE`` or standard output; takes the report flags of ``profkit top``.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments
from profkit.cli.cmd_raw import run_keeping_profile

NAME = "callgrind"
HELP = "write the call graph in callgrind format (KCachegrind), as `go tool pprof -callgrind`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p, formats=("callgrind",))


def run(args: argparse.Namespace) -> int:
    """Write the callgrind file of the merged inputs."""
    return run_keeping_profile(args, NAME)
