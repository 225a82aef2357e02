"""The CPU sampler's accounting of its ticks: which thread used what, observed where.

``SampleTaker.take`` turns one or more probes of ``_cpuwake`` (a "wake": who was on a CPU
then, the stacks those threads recorded themselves, and with the prober every thread's
CPU clock) plus the live frames and labels into CPU observations (``cpu_attribution``)
and wall-clock samples. Called by the sampler's thread with the GIL; see ``sampler``.
"""

from __future__ import annotations

import threading
import time
from types import CodeType, FrameType
from typing import Dict, List, Optional, Tuple

from profkit.collect import threadclock, threadhooks
from profkit.collect.cpu_attribution import AggKey, CpuAttribution
from profkit.collect.frames import StackInterner, current_frames
from profkit.collect.labels import LabelSet, labels_by_thread
from profkit.collect.sampler_threads import ThreadState, ThreadTable, in_thread_bootstrap
from profkit.collect.threadclock import GONE

NAME_REFRESH_TICKS = 16  # thread names and identities are re-read every 16 samples
RUNNING_FRACTION = 0.1  # a thread that used >= 10 % of a CPU since the last sample is "running"
ON_CPU_MIN_NS = 5_000  # a probe's "on a CPU": advanced 5 us (a GIL waiter woken in vain spends less)
DRIFT_MAX_NS = 500_000  # ... and, read with the GIL, ran at most this much more since

# a thread's own recording at the probe: ((code, f_lasti, line), ...) leaf first, and its
# labels (Ellipsis: not known then, take the ones read with the GIL)
Captured = Tuple[Tuple[Tuple[CodeType, int, int], ...], object, bool]  # ..., truncated
# (probe wall ns, {kernel tid: (CPU ns advanced during the probe, CPU ns at its end)},
#  ident of the GIL holder or 0, {kernel tid: Captured} or None without signal capture,
#  {kernel tid: CPU ns} of every thread at the probe when the prober took it)
Wake = Tuple[
    int, Dict[int, Tuple[int, int]], int, Optional[Dict[int, Captured]], Optional[Dict[int, int]]
]



class SampleTaker:
    """The per-tick accounting of one sampler (its thread table, stacks and aggregates)."""

    def __init__(
        self, interner: StackInterner, attribution: CpuAttribution, cpu: bool, wall: bool
    ) -> None:
        self.cpu = cpu
        self.wall = wall
        self._interner = interner
        self._attribution = attribution
        self.table = ThreadTable(interner, attribution, cpu)
        self.agg_wall: Dict[AggKey, List[int]] = {}
        self.ticks = 0
        self.last_wall_ns = 0
        self.own_ident = 0  # the sampler's thread: never sampled

    def take(self, wakes: List[Optional[Wake]]) -> None:
        """Take the samples of one or more probes (several when the GIL came late)."""
        table = self.table
        frames = current_frames()
        if threadhooks.exit_reports:
            if self.cpu and any(w is not None and w[3] for w in wakes):
                self._observe_exited(wakes, frames)
            table.drain_exits()
        if (self.ticks + len(wakes)) // NAME_REFRESH_TICKS > self.ticks // NAME_REFRESH_TICKS:
            table.refresh_names()
        by_thread = labels_by_thread()  # from each thread's current context (labels.py)
        for wake in wakes:
            self._tick(wake, frames, by_thread)
        if table.finished:
            for ident in [i for i in table.finished if i not in frames]:
                del table.finished[ident]
        del frames

    def _observe_exited(self, wakes: List[Optional[Wake]], frames: Dict[int, FrameType]) -> None:
        """Charge the captures of threads that exited before this thread got the GIL.

        A thread that recorded its stack at a probe and ended before the ticks were taken
        (a short request thread) is not in ``frames``; its captures still count, in order,
        before its exit is accounted (``drain_exits``).
        """
        table = self.table
        # kernel id -> (ident, its state if the table has one, its Thread if it reported its exit)
        gone: Dict[int, Tuple[int, Optional[ThreadState], Optional[threading.Thread]]] = {
            st.native_id: (ident, st, None) for ident, st in table.threads.items() if ident not in frames
        }
        for ident, _cpu, thread in threadhooks.exit_reports:  # ended, or ending (still in frames)
            nid = threadclock.native_id_of(ident, thread)  # as drain_exits matches them
            if nid is not None and nid not in gone:
                st = table.threads.get(ident)
                gone[nid] = (ident, st if st is not None and st.native_id == nid else None, thread)
        for wake in wakes:
            if wake is None or not wake[3]:
                continue
            clocks = wake[4]
            for tid, captured in wake[3].items():
                found = gone.get(tid)
                if found is None:
                    continue
                ident, st, exited = found
                if st is None:  # started and ended between two takes: known from its exit
                    if exited is None or exited is table.sampler_thread or exited.ident is None:
                        continue
                    st = table.threads[ident] = table.state_for(ident, baseline=False, thread=exited)
                    gone[tid] = (ident, st, exited)
                reading = clocks.get(tid) if clocks is not None else None
                if reading is not None and reading > st.cpu_ns:
                    st.cpu.total += reading - st.cpu_ns
                    st.cpu_ns = reading
                self._observe_captured(st, captured, ())

    def _tick(
        self,
        wake: Optional[Wake],
        frames: Dict[int, FrameType],
        by_thread: Dict[int, LabelSet],
    ) -> None:
        """Take one sample of every thread in ``frames``; ``wake`` is one probe of ``_cpuwake``."""
        now = time.perf_counter_ns()
        wall_delta = now - self.last_wall_ns
        self.last_wall_ns = now
        self.ticks += 1
        table = self.table
        own = self.own_ident
        threads = table.threads
        interner_stack = self._interner.stack
        clock_gettime_ns = time.clock_gettime_ns
        want_cpu, want_wall = self.cpu, self.wall
        observe = self._attribution.observe
        agg_wall = self.agg_wall
        advanced: Optional[Dict[int, Tuple[int, int]]] = None
        holder = 0
        captures: Optional[Dict[int, Captured]] = None
        clocks: Optional[Dict[int, int]] = None  # every thread's CPU clock at a prober's probe
        if wake is not None:
            advanced, holder, captures, clocks = wake[1], wake[2], wake[3], wake[4]
        for ident, frame in frames.items():
            if ident == own:
                continue
            st = threads.get(ident)
            if st is None:
                if table.finished and table.is_exiting(ident):
                    continue
                if ident not in threading._active and in_thread_bootstrap(frame):  # type: ignore[attr-defined]
                    continue  # a Thread starting or ending: counted when seen again, or at exit
                st = table.state_for(ident, baseline=False)
            cpu = st.cpu
            if st.clock is None:  # no per-thread clock here: count wall time as CPU
                cpu_delta = wall_delta
                on_cpu = True
            else:
                reading = clocks.get(st.native_id) if clocks is not None else None
                if reading is not None:
                    cpu_now = reading  # at the probe: its ticks are counted in order
                elif clocks is not None and st.native_id != ident:
                    continue  # not there at that probe: counted at a later one or at exit
                else:
                    try:
                        cpu_now = clock_gettime_ns(st.clock)
                    except OSError:  # exited (its ident may be reused): start afresh next time
                        cpu_now = GONE
                if cpu_now == GONE:
                    del threads[ident]
                    table.gone[st.native_id] = st
                    table.finished[ident] = st.native_id
                    continue
                cpu_delta = max(0, cpu_now - st.cpu_ns)
                st.cpu_ns = cpu_now
                if advanced is None or st.native_id == ident:  # no kernel id: as without _cpuwake
                    on_cpu = cpu_delta > 0
                else:
                    probe = advanced.get(st.native_id)
                    # on a CPU at the probe: held the GIL then, or its clock advanced; and
                    # its stack has not moved on much since (it may have run again)
                    on_cpu = (
                        probe is not None
                        and (ident == holder or probe[0] >= ON_CPU_MIN_NS)
                        and not (captures and st.native_id in captures)  # its own is used below
                        and self._ran_since(st, probe[1], cpu_now, clocks) <= DRIFT_MAX_NS
                    )
            cpu.total += cpu_delta
            captured = (
                captures.get(st.native_id) if captures and want_cpu and st.clock is not None else None
            )
            if captured is not None:  # its own recording, on a CPU at the probe
                self._observe_captured(st, captured, by_thread.get(ident, ()))
                on_cpu = False  # observed: not again from the stack read now
            if not want_wall and not (on_cpu and want_cpu):
                continue  # not on a CPU: nothing charged here, no stack walk
            stack = interner_stack(frame)
            if not stack:  # only profkit's frames (e.g. after the program under profkit run):
                continue  # its CPU goes to the nearest observation of the program's code
            user = by_thread.get(ident, ()) if by_thread else ()
            if want_cpu and on_cpu:
                observe(cpu, stack, st.base_labels, user)
            if want_wall:
                state = "running" if cpu_delta >= wall_delta * RUNNING_FRACTION else "waiting"
                key = (stack, st.base_labels, user, state)
                v = agg_wall.get(key)
                if v is None:
                    agg_wall[key] = [1, wall_delta]
                else:
                    v[0] += 1
                    v[1] += wall_delta

    @staticmethod
    def _ran_since(
        st: ThreadState, probe_cpu: int, cpu_now: int, clocks: Optional[Dict[int, int]]
    ) -> int:
        """CPU ns the thread used between the probe and now, when its stack is read."""
        if clocks is None:
            return cpu_now - probe_cpu
        try:  # cpu_now is the probe's: read the clock again
            return time.clock_gettime_ns(st.clock) - probe_cpu  # type: ignore[arg-type]
        except OSError:
            return DRIFT_MAX_NS + 1

    def _observe_captured(self, st: ThreadState, captured: Captured, labels_now: LabelSet) -> None:
        """Observe a thread's signal capture: its stack and labels at the probe instant."""
        stack = self._interner.captured_stack(captured[0], captured[2])
        if not stack:
            return
        user = labels_now if captured[1] is Ellipsis else captured[1]
        self._attribution.observe(st.cpu, stack, st.base_labels, user)  # type: ignore[arg-type]

