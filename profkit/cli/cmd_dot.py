"""``profkit dot FILE [FILE...]``: the call graph as Graphviz source, as ``go tool pprof -dot``.

``--json``: the same graph as JSON. ``add_graph_arguments`` / ``run_graph`` are shared with ``svg``, ``png`` and ``pdf``
(``cmd_svg.py`` ...), which render the same source with Graphviz's ``dot``. As in
pprof, at most 80 nodes unless ``-n`` says otherwise.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report
from profkit.cli.cmd_tree import set_graph_nodecount

NAME = "dot"
HELP = "write the call graph as Graphviz source, as `go tool pprof -dot`"


def add_graph_arguments(p: argparse.ArgumentParser, fmt: str) -> None:
    """Register the arguments of a call-graph command whose output is ``fmt``."""
    add_report_arguments(p, formats=(fmt, "json") if fmt == "dot" else (fmt,))
    set_graph_nodecount(p)


def run_graph(args: argparse.Namespace) -> int:
    """Write the call graph in the command's format (``args.format``)."""
    return run_report(args, "dot")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_graph_arguments(p, "dot")


def run(args: argparse.Namespace) -> int:
    """Write the call graph as dot source."""
    return run_graph(args)
