"""The in-process stack sampler behind the CPU and wall-clock profiles.

One daemon thread wakes ``rate_hz`` times a second, reads ``sys._current_frames()``
and, for every other Python thread, its CPU clock. Each sample is weighted by what
was measured since the previous one, not by the nominal period: the thread's CPU-time
delta (CPU profile; a sleeping or blocked thread adds nothing) and the wall-time delta
(wall profile; every thread, idle ones included). The sampler is held back by the GIL
switch interval, so the achieved rate is lower than asked at high rates; it is
reported in a profile comment.

Process-wide single flight: one ``Sampler`` runs at a time (``CollectorBusyError``).
After ``fork()`` the child has no sampler thread: a sampler inherited from the parent
is marked stopped there and returns empty profiles; a new one may be started.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Dict, List, Optional, Tuple

from profkit.collect import threadclock, threadhooks
from profkit.collect.frames import DEFAULT_MAX_DEPTH, StackInterner
from profkit.collect.labels import LabelSet, _by_thread
from profkit.collect.threadclock import GONE
from profkit.errors import CollectorBusyError, InputError
from profkit.model import Profile, ProfileBuilder

NAME_REFRESH_TICKS = 16  # thread names and identities are re-read every 16 samples
RUNNING_FRACTION = 0.1  # a thread that used >= 10 % of a CPU since the last sample is "running"

_busy_lock = threading.Lock()
_active: Optional[Sampler] = None

AggKey = Tuple[Tuple[int, ...], LabelSet, LabelSet, str]


def check_rate(rate_hz: object) -> None:
    """Check a sampling rate argument.

    Raises:
        TypeError: not a real number (a string, None, a bool).
        InputError: outside 1..10000 Hz (or NaN).
    """
    if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)):
        raise TypeError(
            f"rate_hz must be a number of samples per second (1 to 10000), "
            f"got {rate_hz!r} ({type(rate_hz).__name__})"
        )
    if not (1 <= rate_hz <= 10000):
        raise InputError(f"sampling rate must be between 1 and 10000 Hz, got {rate_hz:g}")


def check_max_depth(max_depth: object) -> None:
    """Check a stack depth limit: an int of at least 1.

    Raises:
        TypeError: not an int.
        InputError: below 1.
    """
    if isinstance(max_depth, bool) or not isinstance(max_depth, int):
        raise TypeError(
            f"max_depth must be a whole number of frames, got {max_depth!r} "
            f"({type(max_depth).__name__})"
        )
    if max_depth < 1:
        raise InputError(f"max_depth must be at least 1 frame, got {max_depth}")


class _ThreadState:
    __slots__ = ("clock", "cpu_ns", "native_id", "name", "base_labels", "last_stack", "last_user")

    def __init__(self, clock: Optional[int], cpu_ns: int, native_id: int, name: str) -> None:
        self.clock = clock
        self.cpu_ns = cpu_ns
        self.native_id = native_id
        self.name = name
        self.base_labels: LabelSet = (("thread_id", str(native_id)), ("thread_name", name))
        self.last_stack: Tuple[int, ...] = ()
        self.last_user: LabelSet = ()


class Sampler:
    """Sample every Python thread's stack; produce a CPU and/or a wall-clock profile.

    Args:
        rate_hz: samples per second to ask for (1..10000).
        cpu: build the CPU profile (``samples/count``, ``cpu/nanoseconds``).
        wall: build the wall-clock profile (``samples/count``, ``wall/nanoseconds``).
        max_depth: frames kept per stack; deeper stacks end in a truncation marker.

    Raises:
        InputError: rate outside 1..10000, max_depth below 1, or neither profile asked for.
        TypeError: rate or max_depth is not a number (see ``check_rate``).
    """

    def __init__(
        self,
        rate_hz: float = 100.0,
        *,
        cpu: bool = True,
        wall: bool = False,
        max_depth: int = DEFAULT_MAX_DEPTH,
    ) -> None:
        check_rate(rate_hz)
        check_max_depth(max_depth)
        if not (cpu or wall):
            raise InputError("nothing to sample: ask for a cpu and/or a wall profile")
        self.rate_hz = float(rate_hz)
        self.cpu = cpu
        self.wall = wall
        self._interner = StackInterner(max_depth)
        self._agg_cpu: Dict[AggKey, List[int]] = {}
        self._agg_wall: Dict[AggKey, List[int]] = {}
        self._threads: Dict[int, _ThreadState] = {}
        self._stop_requested = False
        self._thread: Optional[threading.Thread] = None
        self._own_ident = 0
        self._ticks = 0
        self._start_ns = 0
        self._start_time_ns = 0
        self._last_wall_ns = 0
        self._end_ns = 0
        self._own_cpu_ns = 0
        self._running = False
        self._forked = False

    def is_running(self) -> bool:
        """Return True between ``start()`` and ``stop()``."""
        return self._running

    def start(self) -> None:
        """Start sampling in a daemon thread.

        Raises:
            CollectorBusyError: another sampler is running in this process.
        """
        global _active
        with _busy_lock:
            if _active is not None:
                raise CollectorBusyError("cpu profiling already in use")
            _active = self
        self._start_time_ns = time.time_ns()
        self._start_ns = self._last_wall_ns = time.perf_counter_ns()
        threadhooks.install()
        del threadhooks.exit_reports[:]
        threadhooks.report_exits = True
        for ident in sys._current_frames():
            self._state_for(ident, baseline=True)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="profkit-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> Tuple[Optional[Profile], Optional[Profile]]:
        """Stop sampling; return ``(cpu_profile, wall_profile)`` (None for the one not asked).

        Raises:
            RuntimeError: the sampler was never started.
        """
        global _active
        if self._thread is None:
            raise RuntimeError("sampler was not started")
        if self._running:
            self._running = False
            self._stop_requested = True
            if threading.current_thread() is not self._thread:
                self._thread.join()
            threadhooks.report_exits = False
            if not self._forked:
                self._tick()  # account for the time since the last sample
            self._end_ns = time.perf_counter_ns()
            with _busy_lock:
                if _active is self:
                    _active = None
        return (
            self._build("cpu", self._agg_cpu) if self.cpu else None,
            self._build("wall", self._agg_wall) if self.wall else None,
        )

    def _loop(self) -> None:
        # time.sleep costs one GIL re-acquisition per wake-up; Event.wait costs several
        self._own_ident = threading.get_ident()
        period = 1.0 / self.rate_hz
        sleep = time.sleep
        while not self._stop_requested:
            remaining = period
            while remaining > 0.05 and not self._stop_requested:  # low rates: stop promptly
                sleep(0.05)
                remaining -= 0.05
            sleep(remaining)
            if self._stop_requested:
                break
            try:
                self._tick()
            except Exception:  # never take the profiled program down
                pass
        self._own_cpu_ns = time.thread_time_ns()

    def _state_for(
        self, ident: int, baseline: bool, thread: Optional[threading.Thread] = None
    ) -> _ThreadState:
        if thread is None:
            thread = threading._active.get(ident)  # type: ignore[attr-defined]
        kernel_id = threadclock.native_id_of(ident, thread)
        native_id = kernel_id or ident
        name = thread.name if thread is not None else f"thread-{ident}"
        clock = threadclock.clock_for(ident, kernel_id)
        cpu_ns = threadclock.read_ns(clock) if baseline else 0
        st = _ThreadState(
            clock, cpu_ns if cpu_ns is not None and cpu_ns > 0 else 0, native_id, name
        )
        self._threads[ident] = st
        return st

    def _tick(self) -> None:
        now = time.perf_counter_ns()
        wall_delta = now - self._last_wall_ns
        self._last_wall_ns = now
        self._ticks += 1
        if threadhooks.exit_reports:
            self._drain_exits()
        if self._ticks % NAME_REFRESH_TICKS == 0:
            self._refresh_names()
        frames = sys._current_frames()
        own = self._own_ident
        threads = self._threads
        interner_stack = self._interner.stack
        clock_gettime_ns = time.clock_gettime_ns
        want_cpu, want_wall = self.cpu, self.wall
        agg_cpu, agg_wall = self._agg_cpu, self._agg_wall
        for ident, frame in frames.items():
            if ident == own:
                continue
            st = threads.get(ident)
            if st is None:
                st = self._state_for(ident, baseline=False)
            if st.clock is None:  # no per-thread clock here: count wall time as CPU
                cpu_delta = wall_delta
            else:
                try:
                    cpu_now = clock_gettime_ns(st.clock)
                except OSError:  # exited (its ident may be reused): start afresh next time
                    cpu_now = GONE
                if cpu_now == GONE:
                    cpu_delta = 0
                    del threads[ident]
                else:
                    cpu_delta = max(0, cpu_now - st.cpu_ns)
                    st.cpu_ns = cpu_now
            if cpu_delta <= 0 and not want_wall:
                continue  # idle since the last sample: nothing to charge, no stack walk
            stack = interner_stack(frame)
            if not stack:  # only profkit's frames (e.g. after the program under profkit run)
                if want_cpu and cpu_delta > 0 and st.last_stack:
                    key: AggKey = (
                        st.last_stack,
                        st.base_labels,
                        st.last_user,
                        "",
                    )  # the program's CPU
                    v = agg_cpu.get(key)
                    if v is None:
                        agg_cpu[key] = [1, cpu_delta]
                    else:
                        v[0] += 1
                        v[1] += cpu_delta
                continue
            user = _by_thread.get(ident, ()) if _by_thread else ()
            st.last_stack = stack
            st.last_user = user
            if want_cpu and cpu_delta > 0:
                key = (stack, st.base_labels, user, "")
                v = agg_cpu.get(key)
                if v is None:
                    agg_cpu[key] = [1, cpu_delta]
                else:
                    v[0] += 1
                    v[1] += cpu_delta
            if want_wall:
                state = "running" if cpu_delta >= wall_delta * RUNNING_FRACTION else "waiting"
                key = (stack, st.base_labels, user, state)
                v = agg_wall.get(key)
                if v is None:
                    agg_wall[key] = [1, wall_delta]
                else:
                    v[0] += 1
                    v[1] += wall_delta
        del frames, frame

    def _refresh_names(self) -> None:
        """Pick up renamed threads, and idents reused by new threads (checked every N ticks)."""
        active = threading._active  # type: ignore[attr-defined]
        for ident, st in list(self._threads.items()):
            thread = active.get(ident)
            if thread is None:
                continue
            nid = threadclock.native_id_of(ident, thread)
            if nid is not None and nid != st.native_id:
                del self._threads[ident]
            elif thread.name != st.name:
                st.name = thread.name
                st.base_labels = (("thread_id", str(st.native_id)), ("thread_name", st.name))

    def _drain_exits(self) -> None:
        """Charge exited threads' CPU time since their last sample to their last stack."""
        reports = threadhooks.exit_reports[:]
        del threadhooks.exit_reports[: len(reports)]
        if not self.cpu:
            return
        for ident, cpu_ns, thread in reports:
            st = self._threads.pop(ident, None)
            if st is None:  # started and ended between two samples: charge its entry point
                if thread.ident is None or not self._running:
                    continue
                st = self._state_for(ident, baseline=False, thread=thread)
                self._threads.pop(ident, None)
                entry = threadhooks.entry_point(thread)  # recorded at start: _target is gone
                if entry is not None:
                    code, module = entry
                    st.last_stack = self._interner.code_stack([(code, code.co_firstlineno, module)])
            if cpu_ns <= st.cpu_ns:
                continue
            key: AggKey = (st.last_stack, st.base_labels, st.last_user, "")
            v = self._agg_cpu.get(key)
            if v is None:
                self._agg_cpu[key] = [1, cpu_ns - st.cpu_ns]
            else:
                v[0] += 1
                v[1] += cpu_ns - st.cpu_ns

    def _build(self, kind: str, agg: Dict[AggKey, List[int]]) -> Profile:
        period_ns = int(round(1e9 / self.rate_hz))
        duration_ns = max(0, self._end_ns - self._start_ns)
        achieved = self._ticks / (duration_ns / 1e9) if duration_ns else 0.0
        weight = "per-thread CPU time" if kind == "cpu" else "wall time"
        comment = (
            f"profkit {kind} profile: requested {self.rate_hz:g} Hz, achieved {achieved:.1f} Hz "
            f"({self._ticks} samples in {duration_ns / 1e9:.3f} s, sampler CPU "
            f"{self._own_cpu_ns / 1e6:.1f} ms); values are measured {weight}"
        )
        if self._forked:
            comment += "; stopped by fork() (this is the child)"
        b = ProfileBuilder(
            [("samples", "count"), (kind, "nanoseconds")],
            period_type=(kind, "nanoseconds"),
            period=period_ns,
            default_sample_type=kind,
            comments=[comment],
        )
        for (stack, base, user, state), values in agg.items():
            labels = dict(base)
            labels.update(user)
            if state:
                labels["thread_state"] = state
            b.add_locations(self._interner.locations(b, stack), values, labels)
        return b.build(duration_nanos=duration_ns, time_nanos=self._start_time_ns)

    def _after_fork_in_child(self) -> None:
        self._forked = True
        self._running = False
        self._end_ns = time.perf_counter_ns()
        self._agg_cpu.clear()
        self._agg_wall.clear()


def _after_fork_in_child() -> None:
    global _active, _busy_lock
    _busy_lock = threading.Lock()
    if _active is not None:
        _active._after_fork_in_child()
        _active = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
