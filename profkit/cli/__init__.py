"""The ``profkit`` command line: ``main(argv) -> exit code``.

Subcommands are modules ``profkit/cli/cmd_<name>.py`` found at start-up; each defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, and imports
heavy dependencies inside ``run`` so that ``profkit --help`` stays fast.
Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted. Errors are one line on
stderr (``profkit: ...``); ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType
from typing import List, Optional, Sequence

from profkit.errors import ProfkitError


def _command_modules() -> List[ModuleType]:
    import profkit.cli as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            mods.append(importlib.import_module(f"profkit.cli.{info.name}"))
    return mods


def _version() -> str:
    """Return the installed distribution's version ("unknown" when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("profkit")
    except PackageNotFoundError:
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``: print ``profkit X`` and exit 0; reads the metadata only when used."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str = "show the version and exit") -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: Optional[str] = None) -> None:
        print(f"profkit {_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="profkit",
        description="pprof for Python: collect, convert, analyse and compare profiles.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as e:  # argparse: --help (0) or usage error (2)
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except ProfkitError as e:
        if args.debug:
            raise
        print(f"profkit: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("profkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug of ours: still one line unless --debug
        if args.debug:
            raise
        print(
            f"profkit: internal error: {type(e).__name__}: {e} (rerun with --debug for details)",
            file=sys.stderr,
        )
        return 1


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
