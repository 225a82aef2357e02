"""``profkit tree FILE [FILE...]``: pprof's ``-tree`` report (callers and callees per node).

As ``go tool pprof -tree``: at most 80 nodes unless ``-n`` says otherwise (``-n 0``:
all), nodes below ``--nodefraction`` of the total dropped; ``--json`` for JSON.
"""

from __future__ import annotations

import argparse

from profkit.cli._report_args import add_report_arguments, run_report

NAME = "tree"
HELP = "print each node with its callers and callees, as `go tool pprof -tree`"

#: pprof's nodecount for every report but top/text (``-1`` means this there).
GRAPH_NODECOUNT = 80


def set_graph_nodecount(p: argparse.ArgumentParser) -> None:
    """Make ``-n``'s default pprof's graph default (80 nodes) on a report parser."""
    for action in p._actions:
        if action.dest == "nodecount":
            action.help = f"show at most N nodes (default {GRAPH_NODECOUNT}; 0: all)"
    p.set_defaults(nodecount=GRAPH_NODECOUNT)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Register this command's arguments."""
    add_report_arguments(p)
    set_graph_nodecount(p)


def run(args: argparse.Namespace) -> int:
    """Print the tree report of the merged inputs."""
    return run_report(args, NAME)
