"""Lock-contention profiles: Go's block and mutex profiles for Python.

``enable(fraction)`` replaces the lock factories of ``threading`` (``Lock``,
``RLock``, ``Condition``; ``Semaphore``, ``BoundedSemaphore``, ``Event``, ``Barrier``
and ``queue.Queue`` are built on those and are covered through them) and of
``asyncio`` (``Lock``, ``Semaphore``, ``BoundedSemaphore``, ``Condition``, ``Event``)
with profiled versions. Locks created while enabled are profiled; locks created
before are not. ``disable()`` restores the originals; profiled locks that already
exist keep working (they only forward). Like Go's profiles, samples are cumulative:
they stay readable after ``disable()`` and accumulate over enable/disable cycles until
``reset()``.

- ``block_profile()``: who waited and for how long (the waiter's stack).
- ``mutex_profile()``: who held the lock others waited for (the releaser's stack),
  charged the total time the waiters spent while it held the lock.

Both have sample types ``contentions/count`` and ``delay/nanoseconds`` (Go's), values
already scaled up by the sampling fraction, and a string label ``lock`` = the lock's
creation site (``module:line``). Only contended acquisitions pay: an acquire first
tries the real lock without blocking and times only the blocking path.
"""

from __future__ import annotations

import _thread
import asyncio
import asyncio.locks
import threading
import time
from typing import Any, Dict, List, Tuple

from profkit.collect import _asynclocks, _lockrecord, _threadlocks
from profkit.errors import InputError
from profkit.model import Profile

__all__ = ["block_profile", "disable", "enable", "is_enabled", "mutex_profile", "reset"]

_switch = _thread.allocate_lock()
_saved: List[Tuple[Any, str, Any]] = []

_THREADING_PATCHES: Dict[str, Any] = {
    "Lock": _threadlocks.ProfiledLock,
    "RLock": _threadlocks.ProfiledRLock,
    "Condition": _threadlocks.ProfiledCondition,
}


def enable(fraction: int = 1, *, sample_delay_ns: int = _lockrecord.DEFAULT_SAMPLE_DELAY_NS
           ) -> None:
    """Start profiling locks created from now on; record 1 in ``fraction`` contentions.

    Like Go's ``SetMutexProfileFraction``: each recorded event stands for ``fraction``
    events and is scaled up accordingly. Waits shorter than ``sample_delay_ns`` (1 ms)
    are also sampled in proportion to their length (and scaled up), which bounds the
    cost by the total wait time. Earlier samples are kept (see ``reset``). Calling it
    while enabled only changes the sampling. Raises ``InputError`` for values < 1.
    """
    if not isinstance(fraction, int) or fraction < 1:
        raise InputError(f"lock sampling fraction must be an integer >= 1, got {fraction!r}")
    if not isinstance(sample_delay_ns, int) or sample_delay_ns < 1:
        raise InputError(f"sample_delay_ns must be an integer >= 1, got {sample_delay_ns!r}")
    with _switch:
        _lockrecord.state.fraction = fraction
        _lockrecord.state.sample_delay_ns = sample_delay_ns
        if _lockrecord.state.enabled:
            return
        targets: List[Tuple[Any, Dict[str, Any]]] = [
            (threading, _THREADING_PATCHES),
            (asyncio, _asynclocks.PATCHES),
            (asyncio.locks, _asynclocks.PATCHES),
        ]
        for module, patches in targets:
            for name, replacement in patches.items():
                _saved.append((module, name, getattr(module, name)))
                setattr(module, name, replacement)
        if not _lockrecord.state.started_ns:
            _lockrecord.state.started_ns = time.time_ns()
        _lockrecord.state.stopped_ns = 0
        _lockrecord.state.enabled = True


def disable() -> None:
    """Stop profiling and restore the original factories; safe to call at any time."""
    with _switch:
        if not _lockrecord.state.enabled:
            return
        _lockrecord.state.enabled = False
        _lockrecord.state.stopped_ns = time.time_ns()
        while _saved:
            module, name, original = _saved.pop()
            setattr(module, name, original)


def is_enabled() -> bool:
    """Return True while lock profiling is enabled."""
    return _lockrecord.state.enabled


def reset() -> None:
    """Drop the samples recorded so far (profiling stays on or off as it was)."""
    _lockrecord.reset()
    _lockrecord.state.started_ns = time.time_ns()


def block_profile() -> Profile:
    """Return the block profile so far: time spent waiting, by the waiter's stack."""
    return _lockrecord.build(_lockrecord.BLOCK)


def mutex_profile() -> Profile:
    """Return the mutex profile so far: waiters' time, by the holder's release stack."""
    return _lockrecord.build(_lockrecord.MUTEX)
