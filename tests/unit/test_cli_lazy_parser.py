"""The CLI builds only the parser of the command it runs; the result is the same as the full one."""

from __future__ import annotations

import argparse
from typing import Any, Dict

import pytest

from profkit.cli import build_parser, main

CASES = [
    ["top", "-focus=main", "--nodecount", "5", "x.pb.gz"],
    ["tree", "-cum", "-sample_index=1", "a", "b"],
    ["diff", "--base", "a", "--new", "b"],
    ["bench", "compare", "a.json", "b.json", "--threshold", "5%"],
    ["--debug", "peek", "main", "x"],
]


def _plain(ns: argparse.Namespace) -> Dict[str, Any]:
    return {k: v for k, v in vars(ns).items() if k != "_run"}


@pytest.mark.parametrize("argv", CASES, ids=lambda a: " ".join(a))
def test_one_command_parser_parses_as_the_full_one(argv: list) -> None:
    command = next(a for a in argv if not a.startswith("-"))
    full = build_parser().parse_args(argv)
    lean = build_parser(command).parse_args(argv)
    assert _plain(lean) == _plain(full) and lean._run is full._run


def test_only_that_command_is_registered() -> None:
    sub = next(a for a in build_parser("top")._actions if isinstance(a, argparse._SubParsersAction))
    assert list(sub.choices) == ["top"]
    every = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert {"top", "tree", "bench", "view"} <= set(every.choices)


def test_unknown_command_still_lists_every_command(capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    assert main(["nosuch"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'nosuch'" in err and "'top'" in err and "'view'" in err


def test_unknown_command_that_looks_like_a_module_name(capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    assert main(["__init__"]) == 2 and "invalid choice" in capsys.readouterr().err
