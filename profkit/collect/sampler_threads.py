"""The sampler's table of threads: clocks, identities, exits, and the final accounting.

A thread gets a ``ThreadState`` when first seen (or when its exit is reported without
having been seen). Its CPU clock is read at every sample; what has not been charged
yet (``ThreadState.cpu``) is accounted by ``CpuAttribution.finish`` when the
thread exits (``threadhooks`` reports it from the thread itself), when its clock
fails (it exited; ``gone`` until its exit report arrives), when its ident is reused,
and at the end of the profile. A thread accounted as exited may still show up in
``sys._current_frames()`` for a moment (``finished``): it is not counted twice.
Not thread-safe: the sampler thread owns it.
"""

from __future__ import annotations

import threading
from types import FrameType
from typing import Any, Dict, Hashable, Optional

from profkit.collect import threadclock, threadhooks
from profkit.collect.cpu_attribution import CpuAttribution, Stack, ThreadCpu
from profkit.collect.frames import StackInterner, current_frames
from profkit.collect.labels import LabelSet
from profkit.collect.threadclock import GONE
from profkit.model import FrameKey

UNKNOWN_STACK_NAME = "profkit.stack_not_seen"  # CPU of a thread whose stack was never read


class ThreadState:
    """What the sampler keeps per thread: its CPU clock, labels, entry point, accounting."""

    __slots__ = ("clock", "cpu_ns", "native_id", "name", "base_labels", "entry", "cpu")

    def __init__(
        self,
        clock: Optional[int],
        cpu_ns: int,
        native_id: int,
        name: str,
        entry: Optional[threadhooks.EntryPoint],
        group: Hashable,
    ) -> None:
        self.clock = clock
        self.cpu_ns = cpu_ns  # the clock's value when last read
        self.native_id = native_id
        self.name = name
        self.base_labels: LabelSet = (("thread_id", str(native_id)), ("thread_name", name))
        self.entry = entry
        self.cpu = ThreadCpu(group)



class ThreadTable:
    """Per-thread state of one sampler, and the accounting of what threads leave behind.

    Args:
        interner: the sampler's stack interner (entry-point stacks are interned there).
        attribution: where finished threads' CPU is accounted.
        want_cpu: False for a wall-only sampler (nothing to account).
    """

    def __init__(self, interner: StackInterner, attribution: CpuAttribution, want_cpu: bool) -> None:
        self.interner = interner
        self.attribution = attribution
        self.want_cpu = want_cpu
        self.sampler_thread: Optional[threading.Thread] = None
        self.threads: Dict[int, ThreadState] = {}
        self.gone: Dict[int, ThreadState] = {}  # by kernel id: clock failed, exit not seen
        self.finished: Dict[int, int] = {}  # ident -> kernel id of threads accounted as exited
        self._entry_stacks: Dict[Any, Stack] = {}
        self._unknown: Stack = ()

    def state_for(
        self, ident: int, baseline: bool, thread: Optional[threading.Thread] = None
    ) -> ThreadState:
        """Return a new state for thread ``ident``, registered unless ``thread`` is given."""
        register = thread is None
        if thread is None:
            thread = threading._active.get(ident)  # type: ignore[attr-defined]
        kernel_id = threadclock.native_id_of(ident, thread)
        native_id = kernel_id or ident
        name = thread.name if thread is not None else f"thread-{ident}"
        clock = threadclock.clock_for(ident, kernel_id)
        cpu_ns = threadclock.read_ns(clock) if baseline else 0
        entry = threadhooks.entry_point(thread) if thread is not None else None
        group: Hashable = entry[0] if entry is not None else ("thread", native_id)
        st = ThreadState(
            clock, cpu_ns if cpu_ns is not None and cpu_ns > 0 else 0, native_id, name, entry,
            group,
        )
        if register:
            self.threads[ident] = st
        return st

    def is_exiting(self, ident: int) -> bool:
        """Is ``ident`` a thread already accounted as exited (still finishing its exit)?"""
        tid = self.finished.get(ident)
        if tid is None:
            return False
        thread = threading._active.get(ident)  # type: ignore[attr-defined]
        if thread is None or threadclock.native_id_of(ident, thread) == tid:
            return True
        del self.finished[ident]  # the ident was reused by a new thread
        return False

    def refresh_names(self) -> None:
        """Pick up renamed threads, and idents reused by new threads (checked every N ticks)."""
        active = threading._active  # type: ignore[attr-defined]
        for ident, st in list(self.threads.items()):
            thread = active.get(ident)
            if thread is None:
                continue
            nid = threadclock.native_id_of(ident, thread)
            if nid is not None and nid != st.native_id:
                del self.threads[ident]
                self.finish(st, None)
            elif thread.name != st.name:
                st.name = thread.name
                st.base_labels = (("thread_id", str(st.native_id)), ("thread_name", st.name))

    def _entry_stack(self, st: ThreadState) -> Optional[Stack]:
        if st.entry is None:
            return None
        stack = self._entry_stacks.get(st.entry)
        if stack is None:
            code, module = st.entry
            stack = self.interner.code_stack([(code, code.co_firstlineno, module)])
            self._entry_stacks[st.entry] = stack
        return stack

    def finish(self, st: ThreadState, current: Optional[Stack]) -> None:
        """Account what ``st`` has not been charged yet (it exited, or the profile ends)."""
        if not self.want_cpu:
            return
        own = None
        if st.entry is None:  # the main thread, or one made in C: a group of its own
            own = current or self._unknown_stack()
        self.attribution.finish(st.cpu, st.base_labels, self._entry_stack(st), own)

    def _unknown_stack(self) -> Stack:
        if not self._unknown:
            self._unknown = (self.interner.synthetic(FrameKey(UNKNOWN_STACK_NAME)),)
        return self._unknown

    def drain_exits(self) -> None:
        """Account exited threads' CPU time since their last sample."""
        reports = threadhooks.exit_reports[:]
        del threadhooks.exit_reports[: len(reports)]
        for ident, cpu_ns, thread in reports:
            if thread is self.sampler_thread:
                continue  # the sampler itself (its CPU is in the comment)
            nid = threadclock.native_id_of(ident, thread)
            st = self.threads.get(ident)
            if st is not None and nid is not None and st.native_id != nid:
                st = None  # that state belongs to a newer thread with the same ident
            elif st is not None:
                del self.threads[ident]
            if st is None and nid is not None:
                st = self.gone.pop(nid, None)
            if st is None:  # started and ended between two samples
                if thread.ident is None:
                    continue
                st = self.state_for(ident, baseline=False, thread=thread)
            if cpu_ns > st.cpu_ns:
                st.cpu.total += cpu_ns - st.cpu_ns
                st.cpu_ns = cpu_ns
            self.finish(st, None)
            self.finished[ident] = st.native_id

    def finish_all(self) -> None:
        """At stop: account every thread's CPU since its last sample."""
        if threadhooks.exit_reports:
            self.drain_exits()
        frames = current_frames()
        for ident, st in list(self.threads.items()):
            cpu_now = threadclock.read_ns(st.clock)
            if cpu_now is not None and cpu_now != GONE and cpu_now > st.cpu_ns:
                st.cpu.total += cpu_now - st.cpu_ns
                st.cpu_ns = cpu_now
            frame = frames.get(ident)
            self.finish(st, self.interner.stack(frame) if frame is not None else None)
        for st in self.gone.values():
            self.finish(st, None)
        self.threads.clear()
        self.gone.clear()
        del frames

_BOOTSTRAP_CODE = threading.Thread._bootstrap.__code__  # type: ignore[attr-defined]


def in_thread_bootstrap(frame: Optional[FrameType]) -> bool:
    """Is ``frame``'s outermost frame ``Thread._bootstrap`` (a ``threading.Thread``)?"""
    root = None
    while frame is not None:
        root, frame = frame, frame.f_back
    return root is not None and root.f_code is _BOOTSTRAP_CODE


