"""Profiled subclasses of ``asyncio.Lock``, ``Semaphore``, ``BoundedSemaphore``,
``Condition`` and ``Event``.

An event loop runs on one thread, so waiter bookkeeping needs no locking. Only an
``acquire``/``wait`` that has to suspend is timed (block profile, waiter's stack);
a ``Lock.release`` while tasks wait is charged their waiting time since they
started or since the previous charge (mutex profile, releaser's stack).
Cancellation and timeouts (``asyncio.wait_for``) go through the original code
paths unchanged: the subclasses only add timing around ``super()`` calls.
"""

from __future__ import annotations

import asyncio
import asyncio.locks
import sys
from time import perf_counter_ns
from typing import Any

from profkit.collect import _stackcapture
from profkit.collect._lockrecord import BLOCK, MUTEX, record, state, weight

SKIP_FILES = frozenset({__file__, asyncio.locks.__file__})
SITE_SKIP_MODULES = frozenset({__name__, "asyncio.locks", "asyncio.queues"})

OriginalLock = asyncio.Lock
OriginalSemaphore = asyncio.Semaphore
OriginalBoundedSemaphore = asyncio.BoundedSemaphore
OriginalCondition = asyncio.Condition
OriginalEvent = asyncio.Event


def _site() -> str:
    return _stackcapture.caller_site(sys._getframe(2), SITE_SKIP_MODULES)


def _record_wait(kind: str, delay_ns: int, site: str) -> None:
    """Record a wait that just ended; the awaiting coroutines' frames are where they waited."""
    w = weight(delay_ns)
    if w:
        record(kind, _stackcapture.capture(sys._getframe(2), SKIP_FILES), delay_ns, w, site)


async def _timed_wait(awaitable: Any, site: str) -> Any:
    t0 = perf_counter_ns()
    try:
        return await awaitable
    finally:
        _record_wait(BLOCK, perf_counter_ns() - t0, site)


class ProfiledAsyncLock(OriginalLock):  # type: ignore[misc,valid-type]
    """``asyncio.Lock`` with block and mutex profiling of contended acquisitions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._profkit_site = _site()
        self._profkit_waiters = 0
        self._profkit_mark_sum = 0
        self._profkit_last_reset = 0

    async def acquire(self) -> bool:  # type: ignore[override]
        """Acquire like ``asyncio.Lock.acquire``; a suspended acquire is timed.

        Any acquire while the lock is held or has waiters is timed: right after a release
        the lock is free but owed to the woken waiter, and a newcomer queues behind it.
        """
        if (not self.locked() and not getattr(self, "_waiters", None)) or not state.enabled:
            return bool(await super().acquire())
        t0 = perf_counter_ns()
        self._profkit_waiters += 1
        self._profkit_mark_sum += t0
        try:
            return bool(await super().acquire())
        finally:
            self._profkit_waiters -= 1
            last = self._profkit_last_reset
            self._profkit_mark_sum -= t0 if t0 > last else last
            _record_wait(BLOCK, perf_counter_ns() - t0, self._profkit_site)

    def release(self) -> None:
        """Release like ``asyncio.Lock.release``; charges waiting tasks' time to the caller."""
        n = self._profkit_waiters
        charge = 0
        if n and self.locked():
            now = perf_counter_ns()
            charge = n * now - self._profkit_mark_sum
            self._profkit_mark_sum = n * now
            self._profkit_last_reset = now
        super().release()
        if charge > 0 and state.enabled:
            _record_wait(MUTEX, charge, self._profkit_site)


class _TimedSemaphoreAcquire:
    """Mixin: a semaphore's suspended acquisitions go to the block profile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._profkit_site = _site()

    async def acquire(self) -> bool:
        """Acquire like ``asyncio.Semaphore.acquire``."""
        base = super()
        if not base.locked() or not state.enabled:  # type: ignore[attr-defined]
            return bool(await base.acquire())  # type: ignore[attr-defined]
        return bool(await _timed_wait(base.acquire(), self._profkit_site))  # type: ignore[attr-defined]


class ProfiledAsyncSemaphore(_TimedSemaphoreAcquire, OriginalSemaphore):  # type: ignore[misc,valid-type]
    """``asyncio.Semaphore`` whose suspended acquisitions go to the block profile."""


class ProfiledAsyncBoundedSemaphore(_TimedSemaphoreAcquire, OriginalBoundedSemaphore):  # type: ignore[misc,valid-type]
    """``asyncio.BoundedSemaphore`` whose suspended acquisitions go to the block profile."""


class ProfiledAsyncCondition(OriginalCondition):  # type: ignore[misc,valid-type]
    """``asyncio.Condition`` whose ``wait`` time goes to the block profile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._profkit_site = _site()

    async def wait(self) -> bool:  # type: ignore[override]
        """Wait like ``asyncio.Condition.wait``."""
        if not state.enabled:
            return bool(await super().wait())
        return bool(await _timed_wait(super().wait(), self._profkit_site))


class ProfiledAsyncEvent(OriginalEvent):  # type: ignore[misc,valid-type]
    """``asyncio.Event`` whose suspended ``wait`` goes to the block profile."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._profkit_site = _site()

    async def wait(self) -> bool:  # type: ignore[override]
        """Wait like ``asyncio.Event.wait``."""
        if self.is_set() or not state.enabled:
            return bool(await super().wait())
        return bool(await _timed_wait(super().wait(), self._profkit_site))


PATCHES = {
    "Lock": ProfiledAsyncLock,
    "Semaphore": ProfiledAsyncSemaphore,
    "BoundedSemaphore": ProfiledAsyncBoundedSemaphore,
    "Condition": ProfiledAsyncCondition,
    "Event": ProfiledAsyncEvent,
}
"""Names patched in both ``asyncio`` and ``asyncio.locks`` while profiling is enabled."""
