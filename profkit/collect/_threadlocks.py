"""Profiled stand-ins for ``threading.Lock``, ``RLock`` and ``Condition``.

Fast path: one non-blocking acquire of the real lock. Only when that fails is the
wait timed (block profile: the waiter's stack) and counted as "someone is waiting"
so that the holder's next ``release`` is charged the time waiters spent while it
held the lock (mutex profile: the releaser's stack; Go's rule of charging from
``max(waiter start, previous charge)`` so no wait is charged twice).

Samples are built outside critical sections: the waiter's stack is captured before
it blocks and its sample is stored when it releases; the releaser's stack is
captured after the real release. Wrappers keep working after the profiler is
disabled (they then only forward). The real lock is acquired and released exactly
as the caller asked, on every path, including timeouts and exceptions.
"""

from __future__ import annotations

import _thread
import sys
import threading
from time import perf_counter_ns
from types import FrameType
from typing import Any, Optional, Tuple

from profkit.collect import _stackcapture
from profkit.collect._lockrecord import BLOCK, MUTEX, record, state, weight

_book = _thread.allocate_lock()  # guards waiter bookkeeping; held for a few bytecodes only
_OriginalCondition = threading.Condition
_real_rlock: Any = threading.RLock  # captured before any patching

try:  # the optional C fast path (see setup.py)
    from profkit.collect import _fastlock  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _fastlock = None

SKIP_FILES = frozenset({__file__, threading.__file__})
SITE_SKIP_MODULES = frozenset({__name__, "threading", "queue", "concurrent.futures.thread"})
_PendingBlock = Optional[Tuple[FrameType, int, int, float]]
MIN_CHARGE_INTERVAL_NS = 50_000
"""A lock's waiters are charged to a release at most this often (later releases catch up)."""


def _user_frame(frame: Optional[FrameType]) -> Optional[FrameType]:
    """The innermost frame that is neither ``threading``'s nor profkit's own."""
    while frame is not None and (frame.f_code.co_filename in SKIP_FILES
                                 or _stackcapture.frame_kind(frame.f_code) == _stackcapture.HIDE):
        frame = frame.f_back
    return frame


_SLOTS = ("_lock", "_site", "_n_waiters", "_mark_sum", "_last_reset", "_pending")


class _Waitable:
    """Waiter bookkeeping shared by the lock wrappers (state lives in the subclasses).

    Subclasses provide ``_block(timeout) -> bool`` (blocking acquire, not profiled) and
    ``_raw_release()``; the C ``FastLockBase`` provides them and the state fields.
    """

    _lock: Any
    _site: str
    _n_waiters: int
    _mark_sum: int
    _last_reset: int
    _pending: _PendingBlock

    def _block(self, timeout: float) -> bool:
        return bool(self._lock.acquire(True, timeout))

    def _raw_release(self) -> None:
        self._lock.release()

    def _init_state(self, lock: Any) -> None:
        self._lock = lock
        self._site = _stackcapture.caller_site(sys._getframe(2), SITE_SKIP_MODULES)
        self._n_waiters = 0
        self._mark_sum = 0
        self._last_reset = 0
        self._pending = None

    def _acquire_slow(self, timeout: float) -> bool:
        if not state.enabled:
            return self._block(timeout)
        with _book:
            t0 = perf_counter_ns()
            self._n_waiters += 1
            self._mark_sum += t0
        ok = False
        try:
            ok = self._block(timeout)
        finally:
            t1 = perf_counter_ns()
            with _book:
                self._n_waiters -= 1
                self._mark_sum -= t0 if t0 > self._last_reset else self._last_reset
            w = weight(t1 - t0)
            if w:
                frame = _user_frame(sys._getframe(1))
                if ok and frame is not None:
                    # The stack is built at release, outside the critical section.
                    self._pending = (frame, frame.f_lineno, t1 - t0, w)
                else:
                    record(BLOCK, _stackcapture.capture(frame), t1 - t0, w, self._site)
        return ok

    def _charge_waiters(self) -> int:
        """Return the wait time to charge to this release (caller still holds the lock)."""
        if not self._n_waiters:
            return 0
        now = perf_counter_ns()
        if now - self._last_reset < MIN_CHARGE_INTERVAL_NS:
            return 0  # charged on a later release: keeps a lock convoy cheap
        with _book:
            n = self._n_waiters
            if not n:
                return 0
            charge = n * now - self._mark_sum
            self._mark_sum = n * now
            self._last_reset = now
        return charge

    def _after_release(self, pending: _PendingBlock, charge: int) -> None:
        if pending is not None:
            frame, line, delay, w = pending
            stack = ((_stackcapture.register_code(frame.f_code, frame.f_globals.get("__name__", "")),
                      line),) + _stackcapture.capture(frame.f_back)
            record(BLOCK, stack, delay, w, self._site)
        if charge > 0 and state.enabled:
            w = weight(charge)
            if w:
                record(MUTEX, _stackcapture.capture(_user_frame(sys._getframe(1))), charge, w,
                       self._site)

    def _release_slow(self) -> None:
        pending = self._pending
        self._pending = None
        charge = self._charge_waiters()
        self._raw_release()
        self._after_release(pending, charge)


class PyProfiledLock(_Waitable):
    """A ``threading.Lock`` whose contended acquisitions are profiled (pure Python)."""

    __slots__ = _SLOTS

    def __init__(self) -> None:
        self._init_state(_thread.allocate_lock())

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire like ``Lock.acquire``; only a contended blocking acquire is timed."""
        if blocking is True and timeout == -1:  # the common call: no validation needed
            if self._lock.acquire(False):
                return True
            return self._acquire_slow(-1)
        if not blocking or timeout == 0:
            return bool(self._lock.acquire(blocking, timeout))  # validates like the real lock
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if self._lock.acquire(False):
            return True
        return self._acquire_slow(timeout)

    def release(self) -> None:
        """Release like ``Lock.release`` (RuntimeError if unlocked)."""
        if self._n_waiters or self._pending is not None:
            self._release_slow()
        else:
            self._lock.release()

    def __enter__(self) -> bool:
        if self._lock.acquire(False):
            return True
        return self._acquire_slow(-1)

    def __exit__(self, *exc: object) -> None:
        if self._n_waiters or self._pending is not None:
            self._release_slow()
        else:
            self._lock.release()

    def locked(self) -> bool:
        """Return True if the lock is held."""
        return bool(self._lock.locked())

    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._n_waiters = self._mark_sum = self._last_reset = 0
        self._pending = None

    def __repr__(self) -> str:
        return f"<profkit ProfiledLock {self._site} {'locked' if self.locked() else 'unlocked'}>"


if _fastlock is not None:

    class FastProfiledLock(_fastlock.FastLockBase, _Waitable):  # type: ignore[misc,name-defined]
        """A ``threading.Lock`` whose contended acquisitions are profiled (C fast path)."""

        __slots__ = ()

        def __init__(self) -> None:
            self._site = _stackcapture.caller_site(sys._getframe(1), SITE_SKIP_MODULES)

        def __repr__(self) -> str:
            return (f"<profkit ProfiledLock {self._site} "
                    f"{'locked' if self.locked() else 'unlocked'}>")

    ProfiledLock: Any = FastProfiledLock
    _fastlock.set_min_charge_ns(MIN_CHARGE_INTERVAL_NS)
else:  # pragma: no cover - depends on the build
    ProfiledLock = PyProfiledLock


class PyProfiledRLock(_Waitable):
    """A ``threading.RLock`` whose contended acquisitions are profiled (pure Python)."""

    __slots__ = _SLOTS

    def __init__(self) -> None:
        self._init_state(_real_rlock())

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        """Acquire like ``RLock.acquire``; only a contended blocking acquire is timed."""
        if blocking is True and timeout == -1:  # the common call: no validation needed
            if self._lock.acquire(False):
                return True
            return self._acquire_slow(-1)
        if not blocking or timeout == 0:
            return bool(self._lock.acquire(blocking, timeout))  # validates like the real lock
        if timeout < 0 and timeout != -1:
            raise ValueError("timeout value must be a non-negative number")
        if self._lock.acquire(False):
            return True
        return self._acquire_slow(timeout)

    __enter__ = acquire

    def release(self) -> None:
        """Release one level like ``RLock.release`` (RuntimeError if not owned)."""
        if self._n_waiters or self._pending is not None:
            if not self._lock._is_owned():
                self._lock.release()  # raises RuntimeError, state untouched
            self._release_slow()
        else:
            self._lock.release()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _is_owned(self) -> bool:
        return bool(self._lock._is_owned())

    def _release_save(self) -> Any:
        pending = self._pending
        self._pending = None
        charge = self._charge_waiters()
        saved = self._lock._release_save()
        self._after_release(pending, charge)
        return saved

    def _acquire_restore(self, saved: Any) -> None:
        self._lock._acquire_restore(saved)

    def _at_fork_reinit(self) -> None:
        self._lock._at_fork_reinit()
        self._n_waiters = self._mark_sum = self._last_reset = 0
        self._pending = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lock, name)

    def __repr__(self) -> str:
        return f"<profkit ProfiledRLock {self._site} {self._lock!r}>"


if _fastlock is not None:

    class FastProfiledRLock(_fastlock.FastRLockBase, _Waitable):  # type: ignore[misc,name-defined]
        """A ``threading.RLock`` whose contended acquisitions are profiled (C fast path)."""

        __slots__ = ()

        def __init__(self) -> None:
            self._site = _stackcapture.caller_site(sys._getframe(1), SITE_SKIP_MODULES)

        def _release_save(self) -> Any:
            pending = self._pending
            self._pending = None
            charge = self._charge_waiters()
            saved = self._raw_release_save()
            self._after_release(pending, charge)
            return saved

        def __repr__(self) -> str:
            return f"<profkit ProfiledRLock {self._site} owned={self._is_owned()}>"

    ProfiledRLock: Any = FastProfiledRLock
else:  # pragma: no cover - depends on the build
    ProfiledRLock = PyProfiledRLock


class ProfiledCondition(_OriginalCondition):
    """A ``threading.Condition`` whose ``wait`` time goes to the block profile."""

    def __init__(self, lock: Any = None) -> None:
        if lock is None:
            lock = ProfiledRLock()
        super().__init__(lock)
        self._profkit_site = _stackcapture.caller_site(sys._getframe(1), SITE_SKIP_MODULES)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait like ``Condition.wait``; the time spent waiting is a block event."""
        if not state.enabled:
            return super().wait(timeout)
        t0 = perf_counter_ns()
        try:
            return super().wait(timeout)
        finally:
            delay = perf_counter_ns() - t0
            w = weight(delay)
            if w:
                stack = _stackcapture.capture(_user_frame(sys._getframe(0)))
                record(BLOCK, stack, delay, w, self._profkit_site)


__all__ = ["ProfiledCondition", "ProfiledLock", "ProfiledRLock", "PyProfiledLock",
           "PyProfiledRLock"]
