"""The ``profkit`` command line: ``main(argv) -> exit code``.

Subcommands are modules ``profkit/cli/cmd_<name>.py`` found at start-up; each defines
``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int``, and imports
heavy dependencies inside ``run`` so that ``profkit --help`` stays fast.
Exit codes: 0 ok, 1 failure, 2 usage error, 130 interrupted. Errors are one line on
stderr (``profkit: ...``, control characters escaped by ``term_safe``); ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import pkgutil
import re
import sys
from types import ModuleType
from typing import List, Optional, Sequence

from profkit.errors import ProfkitError
from profkit.render.termsafe import term_safe

#: errors of writing to standard output (a full disk, /dev/full, a broken device)
_OUTPUT_ERRNOS = (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG)


def _command_modules(only: Optional[str] = None) -> List[ModuleType]:
    """Every ``cmd_*`` module, or just ``cmd_<only>`` when that module exists."""
    if only is not None and re.fullmatch(r"[a-z][a-z0-9_]*", only):
        try:
            return [importlib.import_module(f"profkit.cli.cmd_{only}")]
        except ModuleNotFoundError as e:
            if e.name != f"profkit.cli.cmd_{only}":
                raise
    import profkit.cli as pkg

    mods = []
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if info.name.startswith("cmd_"):
            mods.append(importlib.import_module(f"profkit.cli.{info.name}"))
    return mods


def _command_of(argv: Sequence[str]) -> Optional[str]:
    """The subcommand ``argv`` names (its first argument after ``--debug``), or None."""
    rest = [a for a in argv if a != "--debug"]
    return rest[0] if rest and not rest[0].startswith("-") else None


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


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    """Return the top-level parser with every subcommand registered.

    With ``only`` naming an existing subcommand, only that one is registered: parsing its
    arguments gives the same result and messages, without building the ~15 report parsers
    of every other command (most of a report's start-up). Anything else registers all, so
    ``--help`` and an unknown command's error list every command.
    """
    parser = argparse.ArgumentParser(
        prog="profkit",
        description="pprof for Python: collect, convert, analyse and compare profiles.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _command_modules(only):
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    argv = list(argv) if argv is not None else sys.argv[1:]
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help (0) or usage error (2)
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        return int(args._run(args) or 0)
    except ProfkitError as e:
        if args.debug:
            raise
        print(f"profkit: {term_safe(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("profkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1
    except Exception as e:  # a bug of ours: still one line unless --debug
        if args.debug:
            raise
        if isinstance(e, OSError) and e.filename is None and e.errno in _OUTPUT_ERRNOS:
            # print() to a full disk or /dev/full: files go through write_atomic
            print(f"profkit: cannot write the output ({e.strerror})", file=sys.stderr)
            return 1
        print(
            f"profkit: internal error: {type(e).__name__}: {term_safe(str(e))} "
            "(rerun with --debug for details)",
            file=sys.stderr,
        )
        return 1


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
