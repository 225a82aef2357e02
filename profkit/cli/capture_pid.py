"""``profkit capture --pid PID``: profile a running Python process with py-spy.

``capture(pid, seconds, mode=...)`` runs ``py-spy record --format speedscope`` on the
process (``--idle`` for the wall profile, so waiting threads are included), reads the
speedscope file with ``profkit.importers.speedscope`` and shapes it like our own
collector's output: ``samples/count`` + ``cpu/nanoseconds`` (or ``wall/nanoseconds``),
period ``1e9 / rate``, ``duration_nanos`` = the sampled window, and ``thread_name`` /
``thread_id`` labels. Before running py-spy it checks that the PID exists and looks
like Python, and it turns py-spy's failures into one line that says what is missing
(for ptrace: root or ``CAP_SYS_PTRACE``, same user, ``kernel.yama.ptrace_scope``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

from profkit.errors import CommandError, InputError
from profkit.model import Profile, ValueType

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
    if "permission denied" in low or "operation not permitted" in low:
        return f"cannot attach to PID {pid}: {ptrace_hint(pid)}"
    if "python version" in low or "python interpreter" in low:
        return f"PID {pid} does not look like a Python process py-spy supports ({_last_line(text)})"
    if "no such process" in low or "failed to open process" in low:
        return f"no process with PID {pid} (it may have exited)"
    return f"py-spy failed (exit {code}): {_last_line(text) or 'no message'}"


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or [""])[-1][:300]


def pyspy_command(
    pyspy: str, pid: int, seconds: float, output: str, *, mode: str, rate_hz: int, nonblocking: bool
) -> List[str]:
    """Return the py-spy command line for one capture."""
    cmd = [
        pyspy,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, int(round(seconds)))),
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
    return cmd


def capture(
    pid: int,
    seconds: float,
    *,
    mode: str = "cpu",
    rate_hz: int = 100,
    nonblocking: bool = False,
    pyspy: Optional[str] = None,
) -> Profile:
    """Sample process ``pid`` for ``seconds`` with py-spy and return the profile.

    Raises:
        InputError: bad arguments, no such process, not a Python process.
        CommandError: py-spy missing, not permitted to attach (says what is needed),
            or failed otherwise.
    """
    if mode not in ("cpu", "wall"):
        raise InputError(f"unknown mode {mode!r} (use cpu or wall)")
    if not seconds > 0:
        raise InputError(f"--seconds must be positive, got {seconds:g}")
    if not 1 <= rate_hz <= 10000:
        raise InputError(f"--rate must be between 1 and 10000 Hz, got {rate_hz}")
    check_target(pid)
    target_exe = _readlink(f"/proc/{pid}/exe") or f"python (PID {pid})"
    exe = pyspy or find_pyspy()
    with tempfile.TemporaryDirectory(prefix="profkit-pyspy-") as tmp:
        out = os.path.join(tmp, "profile.speedscope.json")
        cmd = pyspy_command(
            exe, pid, seconds, out, mode=mode, rate_hz=rate_hz, nonblocking=nonblocking
        )
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            raise CommandError(f"py-spy did not finish within {seconds + 60:g} s") from None
        if proc.returncode != 0 or not os.path.exists(out):
            raise CommandError(_explain_failure(pid, proc.stderr + proc.stdout, proc.returncode))
        from profkit.importers import speedscope

        imported = speedscope.load(out)
    shaped = shape(imported, mode=mode, rate_hz=rate_hz, pid=pid, seconds=seconds)
    for m in shaped.mappings:
        m.filename = target_exe
    return shaped


def shape(p: Profile, *, mode: str, rate_hz: int, pid: int, seconds: float) -> Profile:
    """Give an imported py-spy profile our collector's types, period, duration and labels.

    Modifies and returns ``p`` (a profile freshly imported by the caller).
    """
    period = int(round(1e9 / rate_hz))
    p.sample_types = [ValueType("samples", "count"), ValueType(mode, "nanoseconds")]
    p.period_type = ValueType(mode, "nanoseconds")
    p.period = period
    p.default_sample_type = mode
    if not p.duration_nanos:
        p.duration_nanos = int(seconds * 1e9)
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
        f"profkit capture: py-spy sampled PID {pid} for {seconds:g} s at {rate_hz} Hz; "
        f"{mode} profile of {what}"
    ]
    return p


def run(args: argparse.Namespace) -> int:
    """Capture from ``args.pid``, write ``args.output`` atomically, print the top functions."""
    from profkit.model.codec import serialize, write_atomic

    mode = "wall" if args.wall or args.kind == "wall" else "cpu"
    if args.kind not in (None, "cpu", "wall"):
        raise InputError(f"--pid captures cpu or wall profiles, not {args.kind}")
    seconds = 10.0 if args.seconds is None else args.seconds
    output = args.output or f"{mode}-{args.pid}-{time.strftime('%Y%m%d-%H%M%S')}.pb.gz"
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        raise InputError(f"{output}: directory {directory} does not exist")
    if sys.stderr.isatty() and not args.no_progress:
        print(f"capturing {mode} from PID {args.pid} for {seconds:g} s (py-spy)", file=sys.stderr)
    profile = capture(args.pid, seconds, mode=mode, rate_hz=args.rate, nonblocking=args.nonblocking)
    write_atomic(output, serialize(profile))
    print(f"wrote {output} ({len(profile.samples)} samples, {profile.total(0)} observations)")
    if args.top > 0 and profile.samples:
        from profkit.cli.capture_summary import print_top

        print_top(profile, args.top)
    return 0
