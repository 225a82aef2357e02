"""Run a Python program in this process as ``__main__`` (the engine of ``profkit run``).

``parse_command(["python", "app.py", "x"])`` understands ``[python] script.py args``,
``[python] -m module args``, ``[python] -c code args`` and a console script on PATH
whose first line names Python. ``run_program`` runs it with its own ``sys.argv`` and
``sys.path[0]`` (as ``python`` would) and returns the exit code the program asked
for: 0, the ``SystemExit`` code, or 1 after printing the traceback of an uncaught
exception. ``KeyboardInterrupt`` propagates so the caller can still write profiles.
"""

from __future__ import annotations

import builtins
import importlib.machinery
import os
import re
import runpy
import shutil
import sys
import threading
import traceback
import types
import zipfile
from types import FrameType, TracebackType
from typing import Any, Dict, List, NamedTuple, Optional

from profkit.collect import frames
from profkit.errors import InputError

_OWN_FILES = (__file__, runpy.run_path.__code__.co_filename)
_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)?)?$")

program_globals: Dict[str, Any] = {}
"""The last program's globals, kept after it ends (python keeps ``__main__``'s until
shutdown) so that collectors stopped afterwards (the heap profile) still see them."""


class Program(NamedTuple):
    """What to run: ``kind`` is ``path``, ``module`` or ``code``; ``argv`` is its sys.argv."""

    kind: str
    target: str
    argv: List[str]


def _is_python(arg: str) -> bool:
    return bool(_PYTHON_NAME.match(os.path.basename(arg))) or arg == sys.executable


def _not_python(path: str) -> str:
    """Return why the file at ``path`` is not a Python program ("" when it may be one).

    Python runs source files, zipapps and compiled ``.pyc`` files; a binary (ELF, NUL
    bytes in the first 4 KiB) or a script whose ``#!`` line names another interpreter
    is refused, as ``python`` would only fail on it with a SyntaxError.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as e:
        return f"cannot read it: {e.strerror}"
    if path.endswith((".pyc", ".pyo")) or zipfile.is_zipfile(path):
        return ""
    if head.startswith(b"\x7fELF"):
        return "an executable binary"
    if head.startswith(b"#!"):
        line = head[2:].split(b"\n", 1)[0].strip()
        if b"python" not in line:
            shown = line.decode("utf-8", "replace")[:60]
            return f"a script for {shown}"
        return ""
    if b"\0" in head:
        return "a binary file"
    return ""


def _checked_path(given: str, path: str) -> str:
    why = _not_python(path)
    if why:
        where = given if given == path else f"{given} ({path})"
        raise InputError(
            f"{where} is not a Python program ({why}): profkit run runs Python code, "
            "give a .py script, -m module or -c code"
        )
    return path


def parse_command(command: List[str]) -> Program:
    """Return the Program that ``command`` (what follows ``--``) asks to run.

    A script is a file, or a command on PATH; it must look like Python (see
    ``_not_python``: binaries and scripts for other interpreters are refused).

    Raises:
        InputError: empty command, unsupported interpreter option, missing script,
            a program that is not Python.
    """
    cmd = list(command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if cmd and _is_python(cmd[0]):
        cmd = cmd[1:]
    if not cmd:
        raise InputError(
            "nothing to run: give a script, e.g. profkit run --cpu cpu.pb.gz -- python app.py"
        )
    first = cmd[0]
    if first in ("-m", "-c"):
        if len(cmd) < 2:
            raise InputError(f"python {first} needs an argument")
        if first == "-m":
            return Program("module", cmd[1], [cmd[1], *cmd[2:]])
        return Program("code", cmd[1], ["-c", *cmd[2:]])
    if first.startswith("-"):
        raise InputError(
            f"python option {first} is not supported by profkit run (use -m, -c or a script)"
        )
    if os.path.isfile(first):
        return Program("path", _checked_path(first, first), cmd)
    found = shutil.which(first) if os.sep not in first else None
    if found is not None and os.path.isfile(found):
        script = _checked_path(first, found)
        return Program("path", script, [script, *cmd[1:]])
    raise InputError(f"no such script: {first} (give a Python file, -m module or -c code)")


def _exit_code(e: SystemExit) -> int:
    code = e.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_program(program: Program) -> int:
    """Run ``program`` as ``__main__`` and return its exit code (see the module docstring).

    ``sys.argv`` and ``sys.path[0]`` are set for the program and not restored (the
    process ends after it); ``__file__`` is absolute. The caller's frames (profkit's
    launcher) are hidden from sampled stacks. Non-daemon threads are joined before
    returning, as the interpreter does at exit. Raises ``KeyboardInterrupt`` when interrupted.
    """
    global program_globals
    frame: Optional[FrameType] = sys._getframe(1)
    while frame is not None:  # profkit's launcher: out of every stack, as the runner is
        frames.hide_code(frame.f_code)
        frame = frame.f_back
    sys.argv = list(program.argv)
    try:
        program_globals = _execute(program)
        code = 0
    except SystemExit as e:
        program_globals = _globals_of(e.__traceback__)
        code = _exit_code(e)
    except KeyboardInterrupt as e:
        program_globals = _globals_of(e.__traceback__)
        raise
    except BaseException:
        exc_type, exc, tb = sys.exc_info()
        program_globals = _globals_of(tb)
        while tb is not None and tb.tb_frame.f_code.co_filename in _OWN_FILES:
            tb = tb.tb_next  # show the program's frames only, as python would
        traceback.print_exception(exc_type, exc, tb)
        code = 1
    join_non_daemon_threads()
    return code


def _globals_of(tb: Optional[TracebackType]) -> Dict[str, Any]:
    """Return the globals of the program's top frame in ``tb`` (``{}`` if not there)."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename not in _OWN_FILES:
            return tb.tb_frame.f_globals
        tb = tb.tb_next
    return {}


def _execute(program: Program) -> Dict[str, Any]:
    # Sampled stacks end at this frame (frames.ROOT_FUNCTIONS): keep the name and file.
    if program.kind == "path":
        path = os.path.abspath(program.target)  # __file__ is absolute, as python gives it
        sys.path.insert(0, os.path.dirname(path))
        if zipfile.is_zipfile(path) or path.endswith((".pyc", ".pyo")):
            return runpy.run_path(path, run_name="__main__")  # zipapp / compiled: runpy's way
        return _run_source_file(path)
    elif program.kind == "module":
        sys.path.insert(0, os.getcwd())
        return runpy.run_module(program.target, run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, "")
        code = compile(program.target, "<string>", "exec")
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(code, namespace)
        return namespace


def _run_source_file(path: str) -> Dict[str, Any]:
    """Run a script as ``__main__`` like ``python path``: ``__file__`` is ``path``, and
    ``sys.argv[0]`` is left as given (``runpy.run_path`` would set it to ``path``)."""
    with open(path, "rb") as f:
        source = f.read()
    code = compile(source, path, "exec", dont_inherit=True)
    main = types.ModuleType("__main__")
    main.__dict__.update(
        __file__=path,
        __cached__=None,
        __loader__=importlib.machinery.SourceFileLoader("__main__", path),
        __spec__=None,
        __package__=None,
        __builtins__=builtins,
    )
    saved = sys.modules.get("__main__")
    sys.modules["__main__"] = main
    try:
        exec(code, main.__dict__)
    finally:
        if saved is not None:
            sys.modules["__main__"] = saved
    return main.__dict__


def join_non_daemon_threads() -> None:
    """Wait for the program's non-daemon threads, as interpreter shutdown would."""
    me = threading.current_thread()
    for t in threading.enumerate():
        if t is not me and not t.daemon and t.is_alive():
            t.join()
