"""Block and mutex profiles of threading locks: accuracy, attribution, pprof interop."""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, List, Tuple

import pytest

from profkit.collect import _threadlocks, locks
from profkit.model import Profile, check_valid, save

IMPLEMENTATIONS = {
    "python": (_threadlocks.PyProfiledLock, _threadlocks.PyProfiledRLock),
    "native": (_threadlocks.ProfiledLock, _threadlocks.ProfiledRLock),
}


@pytest.fixture(autouse=True, params=sorted(set(IMPLEMENTATIONS)))
def lock_implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run every test against the C fast path and its pure-Python twin (parity)."""
    lock_class, rlock_class = IMPLEMENTATIONS[request.param]
    monkeypatch.setitem(locks._THREADING_PATCHES, "Lock", lock_class)
    monkeypatch.setitem(locks._THREADING_PATCHES, "RLock", rlock_class)
    return str(request.param)


def test_native_fast_path_is_built_when_a_compiler_exists(lock_implementation: str) -> None:
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the pure-Python lock is expected")
    assert _threadlocks.ProfiledLock is not _threadlocks.PyProfiledLock
    assert _threadlocks.ProfiledRLock is not _threadlocks.PyProfiledRLock


def _leaf(p: Profile, sample_index: int = 1) -> List[Tuple[str, int, int]]:
    """(leaf function, leaf line, value) of every sample, biggest first."""
    rows = [
        (
            s.locations[0].lines[0].function.name,
            s.locations[0].lines[0].line,
            s.values[sample_index],
        )
        for s in p.samples
    ]
    return sorted(rows, key=lambda r: -r[2])


def _run_contention(lock_factory: Callable[[], object]) -> Tuple[float, int, int]:
    """One holder keeps the lock 0.4 s while 4 threads wait; returns measured wait + lines."""
    lock = lock_factory()
    holding = threading.Event()
    waits: List[float] = []
    wait_line = release_line = 0

    def holder() -> None:
        nonlocal release_line
        lock.acquire()  # type: ignore[attr-defined]
        holding.set()
        time.sleep(0.4)
        release_line = _line_of_next()
        lock.release()  # type: ignore[attr-defined]

    def waiter() -> None:
        nonlocal wait_line
        holding.wait()
        t0 = time.perf_counter()
        wait_line = _line_of_next()
        lock.acquire()  # type: ignore[attr-defined]
        waits.append(time.perf_counter() - t0)
        lock.release()  # type: ignore[attr-defined]

    threads = [threading.Thread(target=holder)] + [
        threading.Thread(target=waiter) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return sum(waits), wait_line, release_line


def _line_of_next() -> int:
    import sys

    return sys._getframe(1).f_lineno + 1


@pytest.mark.parametrize("factory_name", ["Lock", "RLock"])
def test_wait_time_attributed_to_waiting_line_and_release_site(factory_name: str) -> None:
    locks.enable()
    try:
        waited, wait_line, release_line = _run_contention(getattr(threading, factory_name))
    finally:
        locks.disable()
    block, mutex = locks.block_profile(), locks.mutex_profile()
    for p in (block, mutex):
        check_valid(p)
        assert [str(t) for t in p.sample_types] == ["contentions/count", "delay/nanoseconds"]
    assert waited > 1.0  # 4 waiters × ~0.4 s
    waiter_rows = [r for r in _leaf(block) if r[0].endswith("waiter")]
    assert waiter_rows and waiter_rows[0][1] == wait_line
    assert sum(r[2] for r in waiter_rows) == pytest.approx(waited * 1e9, rel=0.2)
    holder_rows = [r for r in _leaf(mutex) if r[0].endswith("holder")]
    assert holder_rows and holder_rows[0][1] == release_line
    assert holder_rows[0][2] == pytest.approx(waited * 1e9, rel=0.2)
    assert "tests.collect.test_locks" in waiter_rows[0][0] or "test_locks" in waiter_rows[0][0]
    assert all(s.labels["lock"][0].startswith("test_locks:") for s in mutex.samples)


def test_uncontended_locks_record_nothing() -> None:
    locks.enable()
    try:
        lock = threading.Lock()
        for _ in range(1000):
            with lock:
                pass
        assert lock.acquire(False) and not lock.acquire(False)
        lock.release()
    finally:
        locks.disable()
    assert locks.block_profile().samples == [] and locks.mutex_profile().samples == []


def test_timeouts_and_exceptions_leave_locks_consistent() -> None:
    locks.enable()
    lock, rlock = threading.Lock(), threading.RLock()
    cond = threading.Condition(threading.Lock())
    try:
        lock.acquire()
        t0 = time.perf_counter()
        got: List[bool] = []
        th = threading.Thread(target=lambda: got.append(lock.acquire(timeout=0.1)))
        th.start()
        th.join()
        assert got == [False] and time.perf_counter() - t0 >= 0.09
        lock.release()
        assert not lock.locked()
        with pytest.raises(RuntimeError):
            lock.release()
        with pytest.raises(ZeroDivisionError):
            with lock:
                1 / 0  # noqa: B018
        assert not lock.locked()
        with rlock, rlock:
            assert rlock._is_owned()  # type: ignore[attr-defined]
        assert not rlock._is_owned()  # type: ignore[attr-defined]
        with pytest.raises(RuntimeError):
            rlock.release()
        with cond:
            assert cond.wait(timeout=0.05) is False
            assert cond._is_owned()  # type: ignore[attr-defined]
        rcond = threading.Condition()  # on a profiled RLock, held twice while waiting
        with rcond, rcond:
            assert rcond.wait(timeout=0.01) is False
            assert rcond._lock._recursion_count() == 2  # type: ignore[attr-defined]
        assert not rcond._is_owned()  # type: ignore[attr-defined]
        assert lock.acquire(False)
        lock.release()
    finally:
        locks.disable()
    # The timed-out waiter and the condition waits are block events: ~0.1 + 0.05 + 0.01 s.
    block = locks.block_profile()
    assert block.total(1) == pytest.approx(0.16e9, rel=0.5)


def test_locks_created_while_enabled_keep_working_after_disable() -> None:
    locks.enable()
    lock = threading.Lock()
    lock.acquire()
    locks.disable()
    done = threading.Event()

    def waiter() -> None:
        with lock:
            done.set()

    th = threading.Thread(target=waiter)
    th.start()
    time.sleep(0.05)
    lock.release()
    th.join(5)
    assert done.is_set() and not lock.locked()
    assert type(threading.Lock()).__module__ != "profkit.collect._threadlocks"


def test_queue_and_event_waits_are_block_events() -> None:
    locks.enable()
    try:
        q: queue.Queue[int] = queue.Queue()
        ev = threading.Event()
        threading.Timer(0.2, lambda: q.put(1)).start()
        threading.Timer(0.2, ev.set).start()
        get_line = _line_of_next()
        assert q.get(timeout=5) == 1
        assert ev.wait(5)
    finally:
        locks.disable()
    block = locks.block_profile()
    in_test = [
        s for s in block.samples if any(loc.lines[0].line == get_line for loc in s.locations)
    ]
    assert sum(s.values[1] for s in in_test) == pytest.approx(0.2e9, rel=0.5)


def test_fraction_scales_values_to_totals() -> None:
    import random

    random.seed(1)
    locks.enable(fraction=4)
    try:
        waited, _, _ = _run_contention(threading.Lock)
    finally:
        locks.disable()
    block = locks.block_profile()
    assert all(s.values[0] % 4 == 0 for s in block.samples)
    assert "1/4" in block.comments[0]
    with pytest.raises(Exception, match="fraction"):
        locks.enable(fraction=0)


@pytest.mark.go
def test_profiles_open_in_go_pprof(tmp_path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    locks.enable()
    try:
        _run_contention(threading.Lock)
    finally:
        locks.disable()
    for kind, p in (("block", locks.block_profile()), ("mutex", locks.mutex_profile())):
        path = tmp_path / f"{kind}.pb.gz"
        save(p, path)
        raw = go_pprof("-raw", str(path)).stdout
        assert "contentions/count delay/nanoseconds" in raw
        top = go_pprof("-top", "-sample_index=delay", str(path)).stdout
        name = "waiter" if kind == "block" else "holder"
        assert f"test_locks._run_contention.<locals>.{name}" in top
        for flag, shown in (("-contentions", "contentions"), ("-total_delay", "delay"),
                            ("-mean_delay", "mean_delay")):
            assert f"Type: {shown}" in go_pprof("-top", flag, str(path)).stdout


@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_arguments_behave_like_the_real_lock(kind: str) -> None:
    import _thread

    locks.enable()
    try:
        ours = getattr(threading, kind)()
    finally:
        locks.disable()
    real = _thread.allocate_lock() if kind == "Lock" else _thread.RLock()
    calls = [((False, 1), {}), ((), {"timeout": -2}), ((), {"bogus": 1}), ((1, 2, 3), {}),
             ((), {"blocking": False}), ((True, 0), {}), ((), {"timeout": 0.01})]
    for held in (False, True):
        for args, kwargs in calls:
            outcomes = []
            for lock in (real, ours):
                if held:
                    assert lock.acquire(False)
                try:
                    got = lock.acquire(*args, **kwargs)
                    outcomes.append(("ok", got))
                    if got and (not held or kind == "RLock"):
                        lock.release()
                except Exception as e:
                    outcomes.append(("raised", type(e)))
                if held:
                    lock.release()
                if kind == "Lock":
                    assert not lock.locked()
                else:
                    assert not lock._is_owned()  # type: ignore[attr-defined]
            assert outcomes[0] == outcomes[1], (held, args, kwargs, outcomes)


def test_signal_during_a_contended_wait_leaves_the_lock_consistent() -> None:
    import signal

    class Alarm(Exception):
        pass

    def on_alarm(signum: int, frame: object) -> None:
        raise Alarm()

    locks.enable()
    try:
        lock = threading.Lock()
        lock.acquire()
        old = signal.signal(signal.SIGALRM, on_alarm)
        try:
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            with pytest.raises(Alarm):
                lock.acquire()  # blocks: we hold it; the handler's exception aborts the wait
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old)
        assert lock.locked() and lock._n_waiters == 0  # type: ignore[attr-defined]
        lock.release()
        assert lock.acquire(timeout=1)
        lock.release()
    finally:
        locks.disable()


def test_short_waits_are_sampled_in_proportion_and_scaled_up() -> None:
    import random

    random.seed(5)
    # every wait is shorter than sample_delay_ns: each is kept with p = delay/threshold
    locks.enable(sample_delay_ns=10_000_000_000)
    try:
        waited, _, _ = _run_contention(threading.Lock)
    finally:
        locks.disable()
    block = locks.block_profile()
    waiter = [s for s in block.samples if s.locations[0].lines[0].function.name.endswith("waiter")]
    # a kept wait of d ns has p = d / 1e10 and weight 1/p: it records exactly 1e10 ns of delay
    # and 1e10/d (>= 25 for waits under 0.4 s) contentions, so totals stay unbiased
    for s in waiter:
        kept = round(s.values[1] / 1e10)
        assert kept >= 1 and s.values[1] == pytest.approx(kept * 1e10, rel=1e-6)
        assert s.values[0] >= 20 * kept
    with pytest.raises(Exception, match="sample_delay_ns"):
        locks.enable(sample_delay_ns=0)


def test_delay_sampling_weight_is_unbiased() -> None:
    import random

    from profkit.collect import _lockrecord

    random.seed(11)
    st = _lockrecord.state
    saved = (st.fraction, st.sample_delay_ns)
    try:
        for fraction, delay in ((1, 100_000), (4, 100_000), (3, 5_000_000)):
            st.fraction, st.sample_delay_ns = fraction, 1_000_000
            weights = [_lockrecord.weight(delay) for _ in range(40_000)]
            assert sum(weights) / len(weights) == pytest.approx(1.0, rel=0.06)
            kept = [w for w in weights if w]
            assert kept and all(w == kept[0] for w in kept)  # 1/p, the same for equal delays
    finally:
        st.fraction, st.sample_delay_ns = saved
