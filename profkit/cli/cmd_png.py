"""``profkit png FILE [FILE...]``: the call graph rendered as PNG by Graphviz's ``dot``
(as ``go tool pprof -png``); see ``cmd_dot``."""

from __future__ import annotations

import argparse

from profkit.cli.cmd_dot import add_graph_arguments, run_graph

NAME = "png"
HELP = "write the call graph as PNG (rendered by Graphviz), as `go tool pprof -png`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_graph_arguments(p, "png")


def run(args: argparse.Namespace) -> int:
    """Write the call graph as PNG."""
    return run_graph(args)
