"""The py-spy collector: profile a running Python process from outside (``profkit capture
--pid PID``, and ``pid:N`` as a report source, ``profkit.report.sources``).

``capture(pid, seconds, mode=...)`` runs ``py-spy record --format speedscope`` on the
process (``--idle`` for the wall profile, so waiting threads are included), reads the
speedscope file with ``profkit.importers.speedscope`` and shapes it like our own
collector's output: ``samples/count`` + ``cpu/nanoseconds`` (or ``wall/nanoseconds``),
period ``1e9 / rate``, ``duration_nanos`` = the sampled window, and ``thread_name`` /
``thread_id`` labels. Before running py-spy it checks that the PID exists and looks
like Python, and it turns py-spy's failures into one line that says what is missing
(for ptrace: root or ``CAP_SYS_PTRACE``, same user, ``kernel.yama.ptrace_scope``).
``--seconds`` must be whole (py-spy's ``--duration`` is); the profile's duration and
comment give the time actually sampled, shorter (with a warning) if the target exits.
``--type threads`` is a thread dump instead (``cli/capture_pid_threads``).

By default the PID's Python children are sampled too (py-spy ``--subprocesses``: a
gunicorn or uvicorn master and its workers give one profile); samples are then labelled
``pid`` and ``worker``, and comments say how many processes were sampled and which
started or exited during the capture (``pyspy_children``). ``children=False`` samples
the PID alone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

from profkit.collect.pyspy_children import TreeWatch, label_processes, thread_names_only
from profkit.errors import CommandError, InputError
from profkit.importers._common import python_frame_name
from profkit.model import Profile, ValueType
from profkit.model.builder import qualified_name

_THREAD_LABEL = re.compile(r"^(?P<name>.*) \((?P<id>\d+)\)$")
_YAMA = "/proc/sys/kernel/yama/ptrace_scope"


def find_pyspy() -> str:
    """Return the py-spy executable (PATH, or next to this interpreter).

    Raises:
        CommandError: py-spy is not installed.
    """
    found = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if not found:
        raise CommandError("py-spy not found: install it with pip install 'profkit[capture]'")
    return found


def check_target(pid: int) -> None:
    """Check that process ``pid`` exists and, when /proc says so, runs Python.

    Raises:
        InputError: no such process, or it is not a Python process.
    """
    if pid <= 0:
        raise InputError(f"--pid must be a positive process id, got {pid}")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise InputError(f"no process with PID {pid}") from None
    except PermissionError:
        pass  # exists, but another user's: py-spy will say whether it may attach
    exe = _readlink(f"/proc/{pid}/exe")
    maps = _read(f"/proc/{pid}/maps")
    if exe and maps is not None:
        looks_python = "python" in os.path.basename(exe).lower() or "libpython" in maps
        if not looks_python:
            raise InputError(f"PID {pid} is not a Python process ({exe})")


def check_seconds(seconds: float) -> None:
    """Check ``--seconds`` for py-spy, which samples whole seconds.

    Raises:
        InputError: not a whole number of seconds of at least 1.
    """
    if not (seconds >= 1 and float(seconds).is_integer()):
        raise InputError(
            f"--seconds must be a whole number of seconds (1 or more) with --pid "
            f"(py-spy samples whole seconds), got {seconds:g}"
        )


def frame_name(name: str, filename: str) -> str:
    """Return the module-qualified name of a py-spy frame, as the importers name them.

    Code of ``python -c`` (file ``<string>``) belongs to ``__main__``, as our own
    collector names it.
    """
    if filename == "<string>":
        return qualified_name("__main__", name)
    return python_frame_name(name, filename)


def _readlink(path: str) -> str:
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _read(path: str) -> Optional[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def _has_cap_sys_ptrace() -> Optional[bool]:
    status = _read("/proc/self/status") or ""
    m = re.search(r"^CapEff:\s*([0-9a-fA-F]+)", status, re.M)
    return bool(int(m.group(1), 16) & (1 << 19)) if m else None


def ptrace_hint(pid: int) -> str:
    """Return what permission attaching to ``pid`` needs, for an error message."""
    reasons = []
    if _has_cap_sys_ptrace() is False:
        reasons.append("this process lacks CAP_SYS_PTRACE")
    try:
        target_uid = os.stat(f"/proc/{pid}").st_uid
        if target_uid != os.geteuid():
            reasons.append(f"the target runs as uid {target_uid}, you as uid {os.geteuid()}")
    except OSError:
        pass
    scope = (_read(_YAMA) or "").strip()
    if scope and scope != "0":
        reasons.append(f"kernel.yama.ptrace_scope is {scope} (0 allows attaching to own processes)")
    why = "; ".join(reasons) or "the kernel refused ptrace"
    return (
        f"ptrace not permitted ({why}): run as the target's user with ptrace_scope 0, "
        "or as root / with CAP_SYS_PTRACE (containers: --cap-add SYS_PTRACE)"
    )


def _explain_failure(pid: int, stderr: str, code: int) -> str:
    text = stderr.strip()
    low = text.lower()
    # --subprocesses: py-spy hides a refused attach behind "no python processes found"
    # (check_target has already seen a Python process there)
    if ("permission denied" in low or "operation not permitted" in low
            or "no python processes found" in low):
        return f"cannot attach to PID {pid}: {ptrace_hint(pid)}"
    if "python version" in low or "python interpreter" in low:
        return f"PID {pid} does not look like a Python process py-spy supports ({_last_line(text)})"
    if "no such process" in low or "failed to open process" in low:
        return f"no process with PID {pid} (it may have exited)"
    return f"py-spy failed (exit {code}): {_last_line(text) or 'no message'}"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("Error:")]  # not the Rust backtrace
    errors = errors or [ln for ln in lines if "error" in ln.lower() and "::" not in ln]
    return (errors or lines or [""])[-1][:300]


def pyspy_command(
    pyspy: str, pid: int, seconds: float, output: str, *, mode: str, rate_hz: int, nonblocking: bool,
    subprocesses: bool = False,
) -> List[str]:
    """Return the py-spy command line for one capture."""
    cmd = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(int(seconds)),
        "--rate",
        str(rate_hz),
        "--format",
        "speedscope",
        "--output",
        output,
        "--full-filenames",
    ]
    if mode == "wall":
        cmd.append("--idle")
    if nonblocking:
        cmd.append("--nonblocking")
    if subprocesses:
        cmd.append("--subprocesses")
    return cmd


def capture(
    pid: int,
    seconds: float,
    *,
    mode: str = "cpu",
    rate_hz: int = 100,
    nonblocking: bool = False,
    pyspy: Optional[str] = None,
    children: bool = True,
) -> Profile:
    """Sample process ``pid`` for ``seconds`` with py-spy and return the profile.

    ``children``: sample its Python descendants too (py-spy ``--subprocesses``; the
    samples are labelled ``pid`` and ``worker``, see ``profkit.collect.pyspy_children``).

    Raises:
        InputError: bad arguments, no such process, not a Python process.
        CommandError: py-spy missing, not permitted to attach (says what is needed),
            or failed otherwise.
    """
    if mode not in ("cpu", "wall"):
        raise InputError(f"unknown mode {mode!r} (use cpu or wall)")
    check_seconds(seconds)
    if not 1 <= rate_hz <= 10000:
        raise InputError(f"--rate must be between 1 and 10000 Hz, got {rate_hz}")
    check_target(pid)
    target_exe = _readlink(f"/proc/{pid}/exe") or f"python (PID {pid})"
    exe = pyspy or find_pyspy()
    with tempfile.TemporaryDirectory(prefix="profkit-pyspy-") as tmp:
        out = os.path.join(tmp, "profile.speedscope.json")
        cmd = pyspy_command(exe, pid, seconds, out, mode=mode, rate_hz=rate_hz,
                            nonblocking=nonblocking, subprocesses=children)
        started = time.monotonic()
        with TreeWatch(pid) if children else contextlib.nullcontext() as watch:
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                raise CommandError(f"py-spy did not finish within {seconds + 60:g} s") from None
        took = time.monotonic() - started
        if proc.returncode != 0 or not os.path.exists(out):
            raise CommandError(_explain_failure(pid, proc.stderr + proc.stdout, proc.returncode))
        from profkit.importers import speedscope

        owner = thread_names_only(out) if children else {}
        imported = speedscope.load(out)
    exited = "process exited" in (proc.stdout + proc.stderr).lower()
    sampled = took if exited else min(took, seconds)  # the rest is py-spy's start and exit
    if exited:
        print(
            f"profkit: warning: PID {pid} exited after {sampled:.1f} s of the {seconds:g} s "
            "asked; the profile covers that time only",
            file=sys.stderr,
        )
    shaped = shape(imported, mode=mode, rate_hz=rate_hz, pid=pid, seconds=sampled)
    for m in shaped.mappings:
        m.filename = target_exe
    if watch is not None:
        label_processes(shaped, pid, watch, owner, seconds)
    return shaped


def shape(p: Profile, *, mode: str, rate_hz: int, pid: int, seconds: float) -> Profile:
    """Give an imported py-spy profile our collector's types, period, duration and labels.

    ``seconds`` is the time actually sampled (``duration_nanos`` and the comment say
    it). Code run with ``python -c`` is named ``__main__.<module>`` (py-spy's file name
    ``<string>`` would make it ``string.<module>``). Modifies and returns ``p``.
    """
    period = int(round(1e9 / rate_hz))
    p.sample_types = [ValueType("samples", "count"), ValueType(mode, "nanoseconds")]
    p.period_type = ValueType(mode, "nanoseconds")
    p.period = period
    p.default_sample_type = mode
    p.duration_nanos = int(seconds * 1e9)
    for f in p.functions:
        if f.filename == "<string>":
            f.name = f.system_name = frame_name(f.name.removeprefix("string."), f.filename)
    for s in p.samples:
        if len(s.values) == 1:  # unit-less weights: counts
            s.values = [s.values[0], s.values[0] * period]
        thread = s.labels.pop("thread", None)
        if thread:
            m = _THREAD_LABEL.match(thread[0])
            name, tid = (m.group("name"), m.group("id")) if m else (thread[0], "")
            s.labels["thread_name"] = [name]
            if tid:
                s.labels["thread_id"] = [tid]
    what = "all threads, idle included (--idle)" if mode == "wall" else "threads on CPU"
    p.comments = [
        f"profkit capture: py-spy sampled PID {pid} for {seconds:.2f} s at {rate_hz} Hz; "
        f"{mode} profile of {what}"
    ]
    return p
