"""``profkit pdf FILE [FILE...]``: the call graph rendered as PDF by Graphviz's ``dot``
(as ``go tool pprof -pdf``); see ``cmd_dot``."""

from __future__ import annotations

import argparse

from profkit.cli.cmd_dot import add_graph_arguments, run_graph

NAME = "pdf"
HELP = "write the call graph as PDF (rendered by Graphviz), as `go tool pprof -pdf`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_graph_arguments(p, "pdf")


def run(args: argparse.Namespace) -> int:
    """Write the call graph as PDF."""
    return run_graph(args)
