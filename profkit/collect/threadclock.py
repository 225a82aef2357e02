"""Per-thread CPU clocks, read from any thread.

On Linux a thread's CPU clock id is derived from its kernel thread id (what glibc's
``pthread_getcpuclockid`` computes); reading the clock of a thread that has exited
fails cleanly with ``EINVAL`` instead of touching freed thread memory. Elsewhere
``time.pthread_getcpuclockid`` is used. One read is one ``clock_gettime`` syscall.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Dict, Optional

_LINUX = sys.platform.startswith("linux")
_CPUCLOCK_SCHED_PERTHREAD = 6  # CPUCLOCK_SCHED (2) | CPUCLOCK_PERTHREAD_MASK (4)
GONE = -1

# CPython (3.11) keeps the parent's native_id on the forking thread's Thread object in
# a forked child; this map holds the right kernel id for it.
fork_fixed_native_ids: Dict[int, int] = {}


def native_id_of(ident: int, thread: Any) -> Optional[int]:
    """Return the kernel thread id of ``thread`` (ident ``ident``), correct after fork()."""
    fixed = fork_fixed_native_ids.get(ident)
    if fixed is not None:
        return fixed
    nid = getattr(thread, "native_id", None)
    return nid if isinstance(nid, int) else None


def _after_fork_in_child() -> None:
    fork_fixed_native_ids.clear()
    if hasattr(threading, "get_native_id"):
        fork_fixed_native_ids[threading.get_ident()] = threading.get_native_id()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def clock_for(ident: int, native_id: Optional[int]) -> Optional[int]:
    """Return the CPU clock id of thread ``ident`` (kernel id ``native_id``), or None.

    None means this platform offers no per-thread CPU clock for that thread.
    """
    if _LINUX and native_id:
        return ((~native_id) << 3) | _CPUCLOCK_SCHED_PERTHREAD
    getter = getattr(time, "pthread_getcpuclockid", None)
    if getter is None:
        return None
    try:
        return int(getter(ident))
    except (OSError, OverflowError, ValueError):
        return None


def read_ns(clock: Optional[int]) -> Optional[int]:
    """Return the CPU time of ``clock`` in ns; ``GONE`` if the thread has exited; None if no clock."""
    if clock is None:
        return None
    try:
        return time.clock_gettime_ns(clock)
    except OSError:
        return GONE
