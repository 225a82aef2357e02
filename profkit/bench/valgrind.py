"""Valgrind (callgrind) for the instruction-count mode: find it, check it, talk to it.

How a count is taken: the benchmark process runs under ``valgrind --tool=callgrind
--instr-atstart=no --collect-atstart=no``, so the interpreter's start-up, imports and pytest's own
work run uninstrumented and uncounted. Around each measured call a tiny C helper (``HELPER_C``,
compiled once per run with the system C compiler against Debian's ``<valgrind/callgrind.h>``) sends
callgrind client requests: start instrumentation for the test, zero the counters, toggle collection
on, call, toggle off, dump (``CALLGRIND_DUMP_STATS_AT``). Each dump is a file whose ``summary:``
line is the number of instructions executed (Ir) between the two toggles. Client requests rather
than ``--toggle-collect=FUNCTION``: a Python function has no C symbol to toggle on, and toggling on a
shared C function (say ``qsort`` driving a ctypes callback) would also count whatever else calls it.

Errors are ``InputError`` with one line saying what is wrong and what to do (exit 2 in the CLI).
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, List, Optional, Sequence, Tuple

from profkit.errors import InputError

#: Oldest valgrind accepted: 3.16 (2020) is the oldest tested with CPython 3.9+; older releases
#: lack instructions newer compilers emit and abort on them ("unhandled instruction bytes").
MIN_VERSION = (3, 16)

HELPER_C = r"""
#include <valgrind/callgrind.h>
int profkit_running_on_valgrind(void) { return (int)RUNNING_ON_VALGRIND; }
void profkit_start(void) { CALLGRIND_START_INSTRUMENTATION; }
void profkit_stop(void) { CALLGRIND_STOP_INSTRUMENTATION; }
void profkit_zero(void) { CALLGRIND_ZERO_STATS; }
void profkit_toggle(void) { CALLGRIND_TOGGLE_COLLECT; }
void profkit_dump(const char *tag) { CALLGRIND_DUMP_STATS_AT(tag); }
"""

_VERSION = re.compile(r"valgrind-(\d+)\.(\d+)")


def find_valgrind(name: str = "valgrind") -> Tuple[str, Tuple[int, int]]:
    """Return ``(path, (major, minor))`` of a usable valgrind.

    Raises:
        InputError: not found, not runnable, or older than ``MIN_VERSION``.
    """
    path = shutil.which(name)
    if path is None:
        raise InputError(f"valgrind not found ({name!r} is not on PATH): install it (Debian/Ubuntu: "
                         "apt-get install valgrind) or pass --profkit-valgrind PATH")
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        raise InputError(f"{path}: cannot run valgrind --version ({e})") from None
    m = _VERSION.search(proc.stdout + proc.stderr)
    if proc.returncode != 0 or m is None:
        raise InputError(f"{path}: not a valgrind (--version printed {proc.stdout.strip()[:60]!r})")
    version = (int(m.group(1)), int(m.group(2)))
    if version < MIN_VERSION:
        raise InputError(f"{path}: valgrind {version[0]}.{version[1]} is too old for the instruction "
                         f"mode; need >= {MIN_VERSION[0]}.{MIN_VERSION[1]}")
    return path, version


def compile_helper(directory: str, compiler: Optional[str] = None) -> str:
    """Compile ``HELPER_C`` into ``directory/profkit_callgrind.so`` and return its path.

    Raises:
        InputError: no C compiler, or the valgrind headers are missing.
    """
    cc = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc or shutil.which(cc) is None:
        raise InputError("no C compiler found (cc/gcc) to build the callgrind helper: install one "
                         "(apt-get install gcc) or set CC")
    src = Path(directory) / "profkit_callgrind.c"
    out = Path(directory) / "profkit_callgrind.so"
    src.write_text(HELPER_C)
    try:
        proc = subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(out), str(src)],
                              capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as e:
        raise InputError(f"cannot run the C compiler {cc} ({e})") from None
    if proc.returncode != 0:
        first = (proc.stderr.strip().splitlines() or ["no output"])[0]
        hint = " (install valgrind's headers: apt-get install valgrind)" if "callgrind.h" in first else ""
        raise InputError(f"cannot build the callgrind helper with {cc}: {first}{hint}")
    return str(out)


def callgrind_command(valgrind: str, dump_dir: str, argv: Sequence[str]) -> List[str]:
    """Return the command running ``argv`` under callgrind with nothing counted until asked."""
    return [valgrind, "--tool=callgrind", "--instr-atstart=no", "--collect-atstart=no",
            f"--callgrind-out-file={os.path.join(dump_dir, 'callgrind.out')}",
            "--dump-instr=no", "--dump-line=no", "--compress-strings=no",
            f"--log-file={os.path.join(dump_dir, 'valgrind.log')}", *argv]


_SUMMARY = re.compile(rb"^summary:\s*(\d+)", re.MULTILINE)


def read_count(path: str) -> int:
    """Return the instruction count (``summary:`` line) of one callgrind dump file.

    Raises:
        InputError: the file is missing or has no summary line.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: callgrind dump not readable ({e.strerror})") from None
    m = _SUMMARY.search(data)
    if m is None:
        raise InputError(f"{path}: callgrind dump without a summary line")
    return int(m.group(1))


class Callgrind:
    """Client requests through the compiled helper, inside a process that runs under callgrind.

    ``count(call)`` returns the instructions ``call()`` executed; dumps are read and deleted.
    """

    def __init__(self, helper: str, dump_dir: str) -> None:
        self.lib = ctypes.CDLL(helper)
        self.lib.profkit_dump.argtypes = [ctypes.c_char_p]
        self.dump_dir = dump_dir
        self._seen = set(os.listdir(dump_dir))

    @property
    def active(self) -> bool:
        """True when this process runs under valgrind."""
        return bool(self.lib.profkit_running_on_valgrind())

    def start(self) -> None:
        """Switch instrumentation on (needed before ``count``; costs a code-cache flush)."""
        self.lib.profkit_start()

    def stop(self) -> None:
        """Switch instrumentation off again (the rest of the process runs faster)."""
        self.lib.profkit_stop()

    def count(self, call: Callable[[], Any], tag: str = "profkit") -> int:
        """Run ``call()`` with collection on; return its instruction count."""
        lib = self.lib
        lib.profkit_zero()
        lib.profkit_toggle()
        try:
            call()
        finally:
            lib.profkit_toggle()
            lib.profkit_dump(tag.encode("utf-8", "replace")[:200])
        fresh = sorted(n for n in set(os.listdir(self.dump_dir)) - self._seen
                       if n.startswith("callgrind.out"))
        self._seen.update(fresh)
        if not fresh:
            raise InputError(f"callgrind wrote no dump into {self.dump_dir}")
        total = 0
        for name in fresh:
            path = os.path.join(self.dump_dir, name)
            total += read_count(path)
            os.unlink(path)
        return total
