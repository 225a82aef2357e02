"""``profkit svg FILE [FILE...]``: the call graph rendered as SVG by Graphviz's ``dot``
(as ``go tool pprof -svg``); see ``cmd_dot``."""

from __future__ import annotations

import argparse

from profkit.cli.cmd_dot import add_graph_arguments, run_graph

NAME = "svg"
HELP = "write the call graph as SVG (rendered by Graphviz), as `go tool pprof -svg`"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_graph_arguments(p, "svg")


def run(args: argparse.Namespace) -> int:
    """Write the call graph as SVG."""
    return run_graph(args)
