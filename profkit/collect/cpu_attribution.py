"""Which stack each thread's CPU time is charged to in the CPU profile.

The sampler measures every thread's CPU time exactly (its CPU clock, read at each
sample and at exit: the profile's total is the process's CPU time). What it decides
here is where that time goes.

- observed: each sample where the thread was on a CPU (the sampler's probe says so,
  see ``_cpuwake``; without it, any sample with a CPU delta) is an observation of
  its stack at a position on the thread's own CPU-time axis (``samples/count`` 1).
  Each CPU nanosecond of the thread is charged to the observation nearest to it on
  that axis: observation k gets the CPU from the midpoint with observation k-1 to
  the midpoint with k+1; the first one also gets everything before it, the last one
  everything after it (up to the thread's exit or the end of the profile). A thread
  seen once has all its CPU on that stack. Unlike charging the CPU since the
  previous sample to the stack read now, this moves no CPU from a request's first
  phase to its next one; unlike giving every observation the same CPU, it stays
  right when a thread's share of a CPU changes over its life (the scheduler gives a
  new thread more, a long-running one less, on a loaded machine).
- estimated: a thread never observed on a CPU (typically a request thread of a
  thread-per-request server that lived less than a sampling period) has all its CPU
  spread over the observed stacks of the threads with the same entry point (the same
  ``target`` function or ``Thread`` subclass ``run``), in proportion to the CPU
  charged there: they ran the same code. These samples are labelled
  ``cpu_estimate=same_entry_point`` and ``thread_name=(estimated)``, and keep the
  user labels (``route``...) of the stacks they were spread over. With no observed
  thread of that entry point at all, the CPU goes to the entry point's own frame
  (``cpu_estimate=entry_point_frame``). A thread that is a group of its own (the main
  thread, a thread made in C) and was never observed is charged to its stack at the
  end instead.

Error bound of the estimate (docs/COLLECTORS.md): if the unobserved threads of an
entry point spend their CPU like the observed ones, its expected error is zero and
its spread is that of the observed sample; a function's share among estimated CPU is
off by at most the difference between the observed and the unobserved threads'
shares, times the estimated fraction reported in the profile comment.
"""

from __future__ import annotations

from typing import Dict, Hashable, Iterator, List, Optional, Tuple

from profkit.collect.labels import LabelSet

Stack = Tuple[int, ...]
AggKey = Tuple[Stack, LabelSet, LabelSet, str]
ObsKey = Tuple[Stack, LabelSet]
ESTIMATED_BASE: LabelSet = (("cpu_estimate", "same_entry_point"), ("thread_name", "(estimated)"))
ENTRY_FRAME_BASE: LabelSet = (
    ("cpu_estimate", "entry_point_frame"),
    ("thread_name", "(estimated)"),
)


class ThreadCpu:
    """The CPU accounting of one thread on its own CPU-time axis."""

    __slots__ = ("group", "total", "charged", "last_key", "last_pos")

    def __init__(self, group: Hashable) -> None:
        self.group = group  # threads of one group run the same entry point
        self.total = 0  # CPU ns measured for this thread during the profile
        self.charged = 0  # CPU ns (a position on that axis) already given to a stack
        self.last_key: Optional[AggKey] = None  # its latest observation
        self.last_pos = 0  # ``total`` at that observation

    @property
    def observed(self) -> bool:
        """Has the thread been seen on a CPU?"""
        return self.last_key is not None


class CpuAttribution:
    """Accumulate the CPU profile's samples: observed and estimated CPU."""

    def __init__(self) -> None:
        self.agg: Dict[AggKey, List[int]] = {}
        self._by_group: Dict[Hashable, Dict[ObsKey, int]] = {}
        self._unobserved: Dict[Hashable, List[int]] = {}  # group -> [cpu ns, threads]
        self._entry_stacks: Dict[Hashable, Stack] = {}
        self.observed_ns = 0
        self.observations = 0
        self.end_stack_ns = 0

    def _charge(self, cpu: ThreadCpu, key: AggKey, upto: int) -> None:
        ns = upto - cpu.charged
        if ns <= 0:
            return
        cpu.charged = upto
        self.agg[key][1] += ns
        self.observed_ns += ns
        group = self._by_group.get(cpu.group)
        if group is None:
            group = self._by_group[cpu.group] = {}
        okey = (key[0], key[2])
        group[okey] = group.get(okey, 0) + ns

    def observe(self, cpu: ThreadCpu, stack: Stack, base: LabelSet, user: LabelSet) -> None:
        """The thread was on a CPU at ``stack``, ``cpu.total`` into its CPU time."""
        key: AggKey = (stack, base, user, "")
        v = self.agg.get(key)
        if v is None:
            self.agg[key] = [1, 0]
        else:
            v[0] += 1
        self.observations += 1
        pos = cpu.total
        if cpu.last_key is not None:
            self._charge(cpu, cpu.last_key, (cpu.last_pos + pos) // 2)
        cpu.last_key, cpu.last_pos = key, pos

    def finish(
        self,
        cpu: ThreadCpu,
        base: LabelSet,
        entry_stack: Optional[Stack],
        own_stack: Optional[Stack] = None,
    ) -> None:
        """Account a thread's uncharged CPU (it exited, or the profile ends).

        ``entry_stack`` is the one-frame stack of the thread's entry point, used when
        no thread of its group was ever observed (None: unknown). ``own_stack``, for a
        thread that is a group of its own (the main thread, a thread made in C), is
        where its CPU goes if it was never observed (its stack at the end).
        """
        if cpu.last_key is not None:
            self._charge(cpu, cpu.last_key, cpu.total)
            return
        ns = cpu.total - cpu.charged
        cpu.charged = cpu.total
        if ns <= 0:
            return
        if own_stack is not None:
            self.end_stack_ns += ns
            key: AggKey = (own_stack, base, (), "")
            v = self.agg.get(key)
            if v is None:
                self.agg[key] = [0, ns]
            else:
                v[1] += ns
            return
        v = self._unobserved.get(cpu.group)
        if v is None:
            self._unobserved[cpu.group] = [ns, 1]
        else:
            v[0] += ns
            v[1] += 1
        if entry_stack and cpu.group not in self._entry_stacks:
            self._entry_stacks[cpu.group] = entry_stack

    def estimates(self) -> Iterator[Tuple[Stack, LabelSet, LabelSet, int]]:
        """Yield ``(stack, base labels, user labels, cpu ns)`` of the estimated CPU."""
        for group, (ns, _threads) in self._unobserved.items():
            observed = self._by_group.get(group)
            if not observed:
                yield self._entry_stacks.get(group, ()), ENTRY_FRAME_BASE, (), ns
                continue
            total = sum(observed.values())
            given = 0
            items = sorted(observed.items(), key=lambda kv: -kv[1])
            for i, ((stack, user), weight) in enumerate(items):
                share = ns - given if i == len(items) - 1 else ns * weight // total
                given += share
                if share > 0:
                    yield stack, ESTIMATED_BASE, user, share

    def estimated_totals(self) -> Tuple[int, int, int]:
        """Return (estimated ns, threads estimated, ns of it on entry-point frames)."""
        ns = threads = entry = 0
        for group, (g_ns, g_threads) in self._unobserved.items():
            ns += g_ns
            threads += g_threads
            if not self._by_group.get(group):
                entry += g_ns
        return ns, threads, entry

    def comment(self) -> str:
        """One line for the profile: how much CPU was observed and how much estimated."""
        est, threads, entry = self.estimated_totals()
        total = self.observed_ns + self.end_stack_ns + est
        pct = 100.0 * est / total if total else 0.0
        return (
            f"cpu attribution: {self.observed_ns / 1e6:.1f} ms on the stacks of "
            f"{self.observations} on-CPU samples (each ns to the nearest sample of its "
            f"thread); {est / 1e6:.1f} ms ({pct:.1f} %) "
            f"estimated for {threads} threads never seen on a CPU, spread over the stacks "
            f"of threads with the same entry point ({entry / 1e6:.1f} ms of it on entry "
            f"points with none seen), labelled cpu_estimate"
        )
