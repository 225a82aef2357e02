"""The in-process stack sampler behind the CPU and wall-clock profiles.

One daemon thread wakes ``rate_hz`` times a second, reads ``sys._current_frames()``
and, for every other Python thread, its CPU clock. Each sample is weighted by what
was measured since the previous one, not by the nominal period: the thread's CPU-time
delta (CPU profile; a sleeping or blocked thread adds nothing) and the wall-time delta
(wall profile; every thread, idle ones included).

Where the CPU goes (``cpu_attribution``): on Linux the sampler wakes up without the
GIL (``_cpuwake``) and probes every thread's CPU clock over 20 us before it asks for
the GIL; a thread whose clock advanced then was on a CPU at that instant. Only such
samples are charged (each CPU ns of a thread goes to its nearest such sample), so a
thread waiting for the GIL, a lock or I/O is never charged at the line it waits at
(where a GIL-bound sampler would catch it, biasing short request threads towards their
log writes and socket sends).

Which stack such a sample has: on CPython 3.11 the thread itself records it, in a
signal handler, at the probe instant (``_sigstack.h``), with its labels. The probes are
taken by a C thread (the prober, ``_prober.h``) at every deadline, without the GIL; this
thread takes the ticks kept since its last turn when it gets the GIL, like any thread
(it never asks the running thread to hand it over), several at a time (``TAKE_BATCH_NS``):
every probe is a tick, however late the GIL comes. So a capture neither
reshuffles which request thread runs next nor depends on when the sampler gets the GIL.
Where a thread cannot record (another Python, the signal blocked, ``PROFKIT_SIGNAL_CAPTURE=0``),
its stack is read with the GIL as before: the sampler lowers the switch interval while
it waits, so the running thread hands the GIL over within ~200 us, and the sample counts
only if the thread ran little between the probe and that reading (a CPU profile taken
with a wall profile waits that way too). Threads never seen on a CPU have their CPU
estimated from the threads with the same entry point. Without ``_cpuwake`` every sample
with a CPU delta is charged. The achieved rate and how much CPU was estimated are in the
profile's comments.

Process-wide single flight: one ``Sampler`` runs at a time (``CollectorBusyError``).
After ``fork()`` the child has no sampler thread: a sampler inherited from the parent
is marked stopped there and returns empty profiles; a new one may be started.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Dict, List, Optional, Tuple

from profkit.collect import threadhooks
from profkit.collect.cpu_attribution import AggKey, CpuAttribution
from profkit.collect.frames import DEFAULT_MAX_DEPTH, StackInterner, current_frames
from profkit.collect.labels import LABEL_VAR, alive_by_id
from profkit.collect.sampler_ticks import ON_CPU_MIN_NS, SampleTaker, Wake
from profkit.errors import CollectorBusyError, InputError
from profkit.model import Profile, ProfileBuilder

SWITCH_US = 200  # GIL switch interval while the sampler waits for the GIL (default 5000)
PROBE_NS = 20_000  # the wake-up probe: whose CPU clock advances in these 20 us is on a CPU
STOP_CHECK_NS = 50_000_000  # low rates: look at the stop flag every 50 ms
# the prober's ticks are taken once the oldest is 30 ms old: every take costs the running
# thread a GIL hand-over, so ~30 takes a second cost the program less than one per tick
TAKE_BATCH_NS = 30_000_000
CAPTURE_ENV = "PROFKIT_SIGNAL_CAPTURE"  # "0": read stacks with the GIL only (the old way)

try:
    from profkit.collect._cpuwake import forget as _forget_codes
    from profkit.collect._cpuwake import wait_and_read as _wait_and_read
except ImportError:  # not built, or not Linux: every sample with a CPU delta is charged
    _wait_and_read = None
    _forget_codes = None
try:  # CPython 3.11 builds: the prober thread (_prober.h)
    from profkit.collect._cpuwake import PROBER_KEEPS  # ticks kept until taken
    from profkit.collect._cpuwake import prober_start as _prober_start
    from profkit.collect._cpuwake import prober_stop as _prober_stop
    from profkit.collect._cpuwake import prober_take as _prober_take
except ImportError:
    _prober_start = _prober_stop = _prober_take = None
    PROBER_KEEPS = 0

_busy_lock = threading.Lock()
_active: Optional[Sampler] = None

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
        self._attribution = CpuAttribution()
        self._taker = SampleTaker(self._interner, self._attribution, cpu, wall)
        self._stop_requested = False
        self._thread: Optional[threading.Thread] = None
        self._start_ns = 0
        self._start_time_ns = 0
        self._end_ns = 0
        self._own_cpu_ns = 0
        self._skipped = 0  # prober ticks nobody took in time (the GIL held for seconds)
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
        # naming a captured frame's module may import profkit.collect.runner (_heapbuild):
        # import it here, not in the sampler's first tick while that holds the GIL
        import profkit.collect.runner  # noqa: F401

        self._start_time_ns = time.time_ns()
        self._start_ns = self._taker.last_wall_ns = time.perf_counter_ns()
        threadhooks.install()
        del threadhooks.exit_reports[:]
        threadhooks.report_exits = True
        for ident in current_frames():
            self._taker.table.state_for(ident, baseline=True)
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="profkit-sampler", daemon=True)
        self._taker.table.sampler_thread = self._thread
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
                self._taker.table.finish_all()  # account for the time since the last sample
            self._end_ns = time.perf_counter_ns()
            with _busy_lock:
                if _active is self:
                    _active = None
        return (
            self._build("cpu", self._attribution.agg) if self.cpu else None,
            self._build("wall", self._taker.agg_wall) if self.wall else None,
        )

    def _loop(self) -> None:
        self._taker.own_ident = threading.get_ident()
        period_ns = int(1e9 / self.rate_hz)
        capture_min = ON_CPU_MIN_NS if self.cpu and os.environ.get(CAPTURE_ENV) != "0" else 0
        # the prober takes every tick without the GIL when threads record their own stacks
        # and no tick needs the instant the GIL came (a wall profile does)
        prober_cpu = -1
        if capture_min and not self.wall and _prober_start is not None:
            prober_cpu = _prober_start(period_ns, PROBE_NS, capture_min, SWITCH_US, LABEL_VAR)
        if prober_cpu >= 0:
            self._loop_prober(prober_cpu, period_ns)
        else:
            self._loop_waking(period_ns, capture_min)
        self._own_cpu_ns += time.thread_time_ns()
        if _forget_codes is not None:
            _forget_codes()  # the code objects captures kept alive

    def _loop_prober(self, prober_cpu: int, period_ns: int) -> None:
        """Take the prober's ticks whenever this thread gets the GIL."""
        # at high rates a batch is at most a quarter of what the prober keeps
        batch_ns = min(TAKE_BATCH_NS, PROBER_KEEPS // 4 * period_ns)
        try:
            while not self._stop_requested:
                wakes = _prober_take(STOP_CHECK_NS, alive_by_id, batch_ns)  # type: ignore[misc]
                self._take(wakes)
            self._take(_prober_take(0, alive_by_id))  # type: ignore[misc]
        finally:
            skipped, cpu_after = _prober_stop()  # type: ignore[misc]
            self._skipped += skipped
            self._own_cpu_ns += max(0, cpu_after - prober_cpu)  # the prober's CPU is ours

    def _loop_waking(self, period_ns: int, capture_min: int) -> None:
        """Wake at each deadline, probe, and take the tick once this thread has the GIL."""
        # time.sleep costs one GIL re-acquisition per wake-up; Event.wait costs several
        deadline = time.monotonic_ns() + period_ns
        sleep, monotonic_ns, wait_and_read = time.sleep, time.monotonic_ns, _wait_and_read
        while not self._stop_requested:
            while deadline - monotonic_ns() > STOP_CHECK_NS and not self._stop_requested:
                sleep(STOP_CHECK_NS / 1e9)  # low rates: stop promptly
            if self._stop_requested:
                break
            wake: Optional[Wake] = None
            if wait_and_read is not None:
                try:
                    wake = wait_and_read(
                        deadline, PROBE_NS, SWITCH_US, capture_min, LABEL_VAR, alive_by_id
                    )
                except OSError:  # no /proc: sample as without _cpuwake from now on
                    wait_and_read = None
            if wake is None:
                sleep(max(0, deadline - monotonic_ns()) / 1e9)
            # keep the cadence; after a long wait for the GIL, start afresh from now
            deadline = max(deadline + period_ns, monotonic_ns() + period_ns // 2)
            if self._stop_requested:
                break
            self._take([wake])

    def _take(self, wakes: List[Optional[Wake]]) -> None:
        if not wakes:
            return
        try:
            self._taker.take(wakes)
        except Exception:  # never take the profiled program down
            pass

    def _build(self, kind: str, agg: Dict[AggKey, List[int]]) -> Profile:
        period_ns = int(round(1e9 / self.rate_hz))
        duration_ns = max(0, self._end_ns - self._start_ns)
        ticks = self._taker.ticks
        achieved = ticks / (duration_ns / 1e9) if duration_ns else 0.0
        weight = "per-thread CPU time" if kind == "cpu" else "wall time"
        comment = (
            f"profkit {kind} profile: requested {self.rate_hz:g} Hz, achieved {achieved:.1f} Hz "
            f"({ticks} samples in {duration_ns / 1e9:.3f} s, sampler CPU "
            f"{self._own_cpu_ns / 1e6:.1f} ms); values are measured {weight}"
        )
        if self._skipped:
            comment += f"; {self._skipped} ticks skipped (the GIL was not free for seconds)"
        if self._forked:
            comment += "; stopped by fork() (this is the child)"
        comments = [comment]
        if kind == "cpu":
            comments.append(self._attribution.comment())
        b = ProfileBuilder(
            [("samples", "count"), (kind, "nanoseconds")],
            period_type=(kind, "nanoseconds"),
            period=period_ns,
            default_sample_type=kind,
            comments=comments,
        )
        for (stack, base, user, state), values in agg.items():
            labels = dict(base)
            labels.update(user)
            if state:
                labels["thread_state"] = state
            b.add_locations(self._interner.locations(b, stack), values, labels)
        if kind == "cpu":
            for stack, base, user, ns in self._attribution.estimates():
                labels = dict(base)
                labels.update(user)
                b.add_locations(self._interner.locations(b, stack), [0, ns], labels)
        return b.build(duration_nanos=duration_ns, time_nanos=self._start_time_ns)

    def _after_fork_in_child(self) -> None:
        self._forked = True
        self._running = False
        self._end_ns = time.perf_counter_ns()
        self._attribution = CpuAttribution()
        self._taker = SampleTaker(self._interner, self._attribution, self.cpu, self.wall)

def _after_fork_in_child() -> None:
    global _active, _busy_lock
    _busy_lock = threading.Lock()
    if _active is not None:
        _active._after_fork_in_child()
        _active = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
