"""Child processes that never outlive the benchmark run that started them.

``run_in_group(cmd, ...)`` runs a command in a session (so a process group) of its own and, however
the wait ends (the command exited, ``KeyboardInterrupt``, ``Stopped``, any exception), ends every
process still in that group: SIGTERM, up to ``grace`` seconds for the leader, then SIGKILL. The
leader is not reaped before the group is signalled (``waitid(WNOWAIT)``), so its pid, which is the
group's id, cannot be reused by another process meanwhile. Being in another session, the children do
not get the terminal's Ctrl-C: the waiting process does, and ends them itself. On Linux each child
also gets ``PR_SET_PDEATHSIG`` (SIGKILL when the process that started it dies, even by SIGKILL);
the pytest plugin's valgrind run uses ``die_with_parent`` for the same reason.

``stop_on_signals()`` turns SIGTERM and SIGHUP into ``Stopped`` (SIGINT stays ``KeyboardInterrupt``)
and, while ``run_in_group`` waits, raises ``Stopped`` when the process's own parent has died (it was
re-parented): a cancelled CI job whose shell got SIGKILL. Handlers are restored on exit; off the main
thread it installs none (Python allows handlers only there).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import signal
import subprocess
import time
from typing import IO, Any, Callable, Dict, Iterator, Optional, Sequence, Union

_PR_SET_PDEATHSIG = 1
_WATCHED = ("SIGTERM", "SIGHUP")
_POLL = 0.25  # seconds between checks of the parent while waiting


class Stopped(BaseException):
    """The process was asked to stop (``signum``) or its parent died (``signum`` is SIGHUP).

    A ``BaseException`` like ``KeyboardInterrupt``, so ``except Exception`` does not swallow it.
    """

    def __init__(self, signum: int, why: str) -> None:
        super().__init__(why)
        self.signum = signum
        self.why = why


_parent: Optional[int] = None  # the parent pid to watch, set inside stop_on_signals


def _prctl() -> Optional[Callable[..., int]]:
    if not hasattr(os, "fork") or os.uname().sysname != "Linux":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] = libc.prctl
    return prctl


_PRCTL = _prctl()  # resolved before any fork: the child only makes the call


def die_with_parent(sig: int = signal.SIGKILL) -> Optional[Callable[[], None]]:
    """Return a ``preexec_fn`` that makes the child get ``sig`` when its parent dies (Linux), else None."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call took effect
            os._exit(128 + int(sig))

    return arm


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block SIGTERM/SIGHUP raise ``Stopped``, and so does the parent's death."""
    global _parent
    saved: Dict[int, Any] = {}

    def stop(signum: int, frame: Any) -> None:
        raise Stopped(signum, signal.Signals(signum).name)

    outer, _parent = _parent, os.getppid()
    try:
        with contextlib.suppress(ValueError):  # not the main thread: no handlers
            for name in _WATCHED:
                sig = getattr(signal, name, None)
                if sig is not None:
                    saved[sig] = signal.signal(sig, stop)
        yield
    finally:
        _parent = outer
        for sig, handler in saved.items():
            signal.signal(sig, handler)


def _exited(pid: int) -> bool:
    """True when ``pid`` (our child) has exited; it stays a zombie (not reaped)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _check_parent() -> None:
    if _parent is not None and os.getppid() != _parent:
        raise Stopped(signal.SIGHUP, "its parent process died")


def _wait_leader(proc: subprocess.Popen, timeout: Optional[float], watch: bool) -> bool:
    """Wait until the leader exits (not reaped) or ``timeout``; True when it exited."""
    deadline = None if timeout is None else time.monotonic() + timeout
    fd = -1
    with contextlib.suppress(AttributeError, OSError):
        fd = os.pidfd_open(proc.pid)
    try:
        while not _exited(proc.pid):
            if watch:
                _check_parent()
            left = _POLL if deadline is None else min(_POLL, deadline - time.monotonic())
            if left <= 0:
                return False
            if fd >= 0:
                select.select([fd], [], [], left)
            else:
                time.sleep(min(left, 0.05))
        return True
    finally:
        if fd >= 0:
            os.close(fd)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def end_group(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """End the group led by ``proc``: SIGTERM, ``grace`` seconds for the leader, SIGKILL; reap."""
    blocked = {s for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)  # a second Ctrl-C must not cut this short
    try:
        if not _exited(proc.pid):
            _signal_group(proc.pid, signal.SIGTERM)
            _wait_leader(proc, grace, watch=False)
        _signal_group(proc.pid, signal.SIGKILL)  # whatever is left: the leader's pid is still held
        proc.wait()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_in_group(cmd: Sequence[str], *, cwd: str, env: Dict[str, str],
                 stdout: Union[int, IO[Any], None] = None, stderr: Union[int, IO[Any], None] = None,
                 grace: float = 2.0) -> int:
    """Run ``cmd`` in its own session; return its exit code (negative: killed by that signal).

    Nothing of the group survives the call (module docstring). Raises ``OSError`` when ``cmd``
    cannot start, ``Stopped`` / ``KeyboardInterrupt`` as received while waiting.
    """
    proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, start_new_session=True, preexec_fn=die_with_parent())
    try:
        _wait_leader(proc, None, watch=True)
    finally:
        end_group(proc, grace)
    assert proc.returncode is not None
    return proc.returncode
