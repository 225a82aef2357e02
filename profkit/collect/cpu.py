"""CPU and wall-clock profiles of every Python thread: ``CpuProfiler`` and ``profile_for``.

CPU profile (``mode="cpu"``): sample types ``samples/count`` and ``cpu/nanoseconds``,
period type ``cpu/nanoseconds`` (as Go writes them); each sample is weighted by the
thread's measured CPU time since the previous sample, so sleeping, I/O-bound and
lock-blocked threads collect nothing. Wall profile (``mode="wall"``): ``samples/count``
and ``wall/nanoseconds``, every thread weighted by elapsed time, with a
``thread_state`` label (``running`` / ``waiting``). Samples carry ``thread_id`` and
``thread_name`` labels plus the labels set with ``profkit.collect.labels.labels``.
``duration_nanos`` is the profiling window; a comment reports the achieved rate.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Optional, Type

from profkit.collect.frames import DEFAULT_MAX_DEPTH
from profkit.collect.sampler import Sampler, check_max_depth, check_rate
from profkit.errors import InputError
from profkit.model import Profile

__all__ = ["CpuProfiler", "profile_for"]

MODES = ("cpu", "wall")


class CpuProfiler:
    """Sample all threads at ``rate_hz``; ``stop()`` returns a CPU or wall-clock Profile.

    Use ``start()``/``stop()`` or ``with CpuProfiler() as prof: ...`` then ``prof.profile``.
    One profiler runs per process at a time: a second ``start()`` raises
    ``profkit.errors.CollectorBusyError("cpu profiling already in use")``.

    Args:
        rate_hz: samples per second to ask for (default 100, like Go).
        mode: ``"cpu"`` (on-CPU time) or ``"wall"`` (elapsed time, idle threads included).
        max_depth: frames kept per stack; deeper stacks are truncated at the root end.

    Raises:
        InputError: unknown mode, a rate outside 1..10000 Hz or ``max_depth`` below 1.
        TypeError: ``rate_hz`` or ``max_depth`` is not a number.
    """

    def __init__(
        self, rate_hz: float = 100, mode: str = "cpu", *, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> None:
        if mode not in MODES:
            raise InputError(f"unknown profile mode {mode!r} (use 'cpu' or 'wall')")
        check_rate(rate_hz)
        check_max_depth(max_depth)
        self.rate_hz = rate_hz
        self.mode = mode
        self.max_depth = max_depth
        self.profile: Optional[Profile] = None
        self._sampler: Optional[Sampler] = None

    def start(self) -> CpuProfiler:
        """Start sampling; returns self.

        Raises:
            CollectorBusyError: a CPU/wall profile is already being collected.
        """
        sampler = Sampler(
            self.rate_hz, cpu=self.mode == "cpu", wall=self.mode == "wall", max_depth=self.max_depth
        )
        sampler.start()
        self._sampler = sampler
        self.profile = None
        return self

    def is_running(self) -> bool:
        """Return True while sampling."""
        return self._sampler is not None and self._sampler.is_running()

    def stop(self) -> Profile:
        """Stop sampling and return the profile (also kept in ``self.profile``).

        Raises:
            RuntimeError: the profiler is not running.
        """
        if self._sampler is None:
            raise RuntimeError("profiler is not running")
        cpu, wall = self._sampler.stop()
        self._sampler = None
        result = cpu if self.mode == "cpu" else wall
        assert result is not None
        self.profile = result
        return result

    def __enter__(self) -> CpuProfiler:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if self._sampler is not None:
            self.stop()


def profile_for(seconds: float, *, mode: str = "cpu", rate_hz: float = 100) -> Profile:
    """Profile the whole process for ``seconds`` (blocking the caller) and return the profile.

    The calling thread sleeps meanwhile; its own frames inside profkit are not shown.

    Raises:
        InputError: ``seconds`` is not positive, or bad mode/rate.
        CollectorBusyError: a CPU/wall profile is already being collected.
    """
    if not seconds > 0:
        raise InputError(f"seconds must be positive, got {seconds}")
    prof = CpuProfiler(rate_hz, mode).start()
    try:
        time.sleep(seconds)
    finally:
        result = prof.stop()
    return result
