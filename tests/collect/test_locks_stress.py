"""Concurrency under the lock profiler: threads and tasks hammering wrapped locks."""

from __future__ import annotations

import _thread
import asyncio
import queue
import random
import threading
import time
from typing import List

import pytest

from profkit.collect import _threadlocks, locks
from profkit.model import check_valid


@pytest.mark.slow
@pytest.mark.parametrize("impl", ["native", "python"])
def test_threads_hammering_locks_with_timeouts_exceptions_and_toggling(
    impl: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    native = impl == "native"
    lock_class = _threadlocks.ProfiledLock if native else _threadlocks.PyProfiledLock
    rlock_class = _threadlocks.ProfiledRLock if native else _threadlocks.PyProfiledRLock
    monkeypatch.setitem(locks._THREADING_PATCHES, "Lock", lock_class)
    monkeypatch.setitem(locks._THREADING_PATCHES, "RLock", rlock_class)
    locks.enable(fraction=2)
    lock, rlock = threading.Lock(), threading.RLock()
    cond = threading.Condition(lock)
    sem = threading.BoundedSemaphore(3)
    q: queue.Queue[int] = queue.Queue(maxsize=8)
    counter = [0]
    expected = [0]
    expected_lock = threading.Lock()
    inside_sem, max_inside = [0], [0]
    count_lock = _thread.allocate_lock()  # not profiled: the checker must not be under test
    errors: List[BaseException] = []
    stop_at = time.monotonic() + 2.0

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        mine = 0
        try:
            while time.monotonic() < stop_at:
                op = rng.randrange(6)
                if op == 0:
                    with lock:
                        counter[0] += 1
                        mine += 1
                elif op == 1:
                    if lock.acquire(timeout=rng.choice([0, 0.0005, 0.01])):
                        try:
                            counter[0] += 1
                            mine += 1
                        finally:
                            lock.release()
                elif op == 2:
                    try:
                        with rlock, rlock:
                            raise KeyError("boom")
                    except KeyError:
                        pass
                elif op == 3:
                    with cond:
                        counter[0] += 1
                        mine += 1
                        cond.notify()
                        cond.wait(timeout=0.0005)
                elif op == 4:
                    with sem:
                        with count_lock:
                            inside_sem[0] += 1
                            max_inside[0] = max(max_inside[0], inside_sem[0])
                        time.sleep(0)
                        with count_lock:
                            inside_sem[0] -= 1
                else:
                    try:
                        q.put(1, timeout=0.001)
                        q.get(timeout=0.001)
                    except (queue.Full, queue.Empty):
                        pass
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
        with expected_lock:
            expected[0] += mine

    def toggler() -> None:
        while time.monotonic() < stop_at:
            locks.disable()
            time.sleep(0.01)
            locks.enable(fraction=2)
            time.sleep(0.02)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    threads.append(threading.Thread(target=toggler))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "deadlock: threads still running"
    locks.disable()
    assert not errors, errors
    assert counter[0] == expected[0] > 0
    assert 1 <= max_inside[0] <= 3 and inside_sem[0] == 0
    assert not lock.locked() and not rlock._is_owned()  # type: ignore[attr-defined]
    assert lock.acquire(False) and rlock.acquire(False) and sem.acquire(False)
    for p in (locks.block_profile(), locks.mutex_profile()):
        check_valid(p)
        assert all(s.values[0] > 0 and s.values[1] >= 0 for s in p.samples)
    assert locks.block_profile().samples


def test_asyncio_lock_wait_and_holder_attribution() -> None:
    async def main() -> float:
        lock = asyncio.Lock()
        waited: List[float] = []

        async def holder() -> None:
            async with lock:
                await asyncio.sleep(0.3)

        async def waiter() -> None:
            await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            async with lock:
                waited.append(time.perf_counter() - t0)

        async def impatient() -> None:
            await asyncio.sleep(0.01)
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(lock.acquire(), 0.05)

        await asyncio.gather(holder(), waiter(), waiter(), impatient())
        assert not lock.locked()
        return sum(waited)

    locks.enable()
    try:
        waited = asyncio.run(main())
    finally:
        locks.disable()
    block, mutex = locks.block_profile(), locks.mutex_profile()
    waiter_delay = sum(
        s.values[1]
        for s in block.samples
        if s.locations[0].lines[0].function.name.endswith("waiter")
    )
    assert waiter_delay == pytest.approx(waited * 1e9, rel=0.2)
    holder_delay = sum(
        s.values[1]
        for s in mutex.samples
        if s.locations[0].lines[0].function.name.endswith("holder")
    )
    # the holder is charged both waiters' time and the impatient task's 0.05 s
    assert holder_delay == pytest.approx(waited * 1e9 + 0.05e9, rel=0.2)


def test_asyncio_lock_newcomer_behind_a_woken_waiter_is_timed() -> None:
    """Right after a release the lock is free but owed to the woken waiter: a newcomer that
    acquires then (here the releasing task itself) waits, and that wait is a block event."""
    async def main() -> float:
        lock = asyncio.Lock()

        async def first_in_line() -> None:
            async with lock:
                await asyncio.sleep(0.2)

        await lock.acquire()
        task = asyncio.ensure_future(first_in_line())
        await asyncio.sleep(0.01)  # first_in_line is now waiting
        lock.release()             # ... and woken, but has not run yet
        assert not lock.locked()
        t0 = time.perf_counter()
        await lock.acquire()       # the newcomer: queued behind the woken waiter
        waited = time.perf_counter() - t0
        lock.release()
        await task
        return waited

    locks.reset()
    locks.enable()
    try:
        waited = asyncio.run(main())
    finally:
        locks.disable()
    assert waited > 0.15
    newcomer = sum(s.values[1] for s in locks.block_profile().samples
                   if s.locations[0].lines[0].function.name.endswith("main"))
    assert newcomer == pytest.approx(waited * 1e9, rel=0.2)


def test_asyncio_semaphore_condition_event_are_block_events() -> None:
    marks: List[float] = []

    async def main() -> None:
        sem, ev, cond = asyncio.Semaphore(1), asyncio.Event(), asyncio.Condition()

        async def release_later() -> None:
            await asyncio.sleep(0.1)
            marks.append(time.perf_counter())
            sem.release()
            ev.set()
            async with cond:
                cond.notify_all()

        async def wait_cond() -> None:
            async with cond:
                await cond.wait()

        await sem.acquire()
        task = asyncio.ensure_future(release_later())
        marks.append(time.perf_counter())
        await asyncio.gather(sem.acquire(), ev.wait(), wait_cond())
        await task

    locks.enable()
    try:
        asyncio.run(main())
    finally:
        locks.disable()
    block = locks.block_profile()
    assert block.total(0) >= 3
    # three tasks each waited from the gather until release_later ran
    assert block.total(1) == pytest.approx(3 * (marks[1] - marks[0]) * 1e9, rel=0.25)


def test_asyncio_bounded_semaphore_waits_are_block_events_and_stay_bounded() -> None:
    async def main() -> float:
        sem = asyncio.BoundedSemaphore(1)
        await sem.acquire()

        async def release_later() -> None:
            await asyncio.sleep(0.1)
            sem.release()

        task = asyncio.ensure_future(release_later())
        t0 = time.perf_counter()
        await sem.acquire()  # suspends until release_later runs
        waited = time.perf_counter() - t0
        await task
        sem.release()
        with pytest.raises(ValueError):
            sem.release()  # still bounded: releasing past the initial value fails
        return waited

    locks.enable()
    try:
        waited = asyncio.run(main())
    finally:
        locks.disable()
    block = locks.block_profile()
    assert block.total(0) >= 1
    assert block.total(1) == pytest.approx(waited * 1e9, rel=0.25)
