"""Convenience API: ``profkit.cpu.start()`` ... ``profkit.cpu.stop() -> Profile``.

A thin module-level wrapper around ``profkit.collect.cpu.CpuProfiler`` for scripts and
notebooks; ``profkit.cpu.profile()`` is the context manager, ``profile_for(seconds)``
a blocking capture. Same single-flight rule: one CPU/wall profile per process.
"""

from __future__ import annotations

from typing import Optional

from profkit.collect.cpu import CpuProfiler, profile_for
from profkit.model import Profile

__all__ = ["CpuProfiler", "is_running", "profile", "profile_for", "start", "stop"]

_current: Optional[CpuProfiler] = None


def start(rate_hz: float = 100, mode: str = "cpu") -> None:
    """Start the process-wide CPU (or ``mode="wall"``) profile.

    Raises:
        CollectorBusyError: one is already running.
        InputError: bad mode, or a rate outside 1..10000 Hz.
        TypeError: ``rate_hz`` is not a number.
    """
    global _current
    prof = CpuProfiler(rate_hz, mode)
    prof.start()
    _current = prof


def stop() -> Profile:
    """Stop the profile begun by ``start()`` and return it.

    Raises:
        RuntimeError: ``start()`` was not called.
    """
    global _current
    if _current is None:
        raise RuntimeError("profkit.cpu.start() was not called")
    prof, _current = _current, None
    return prof.stop()


def is_running() -> bool:
    """Return True between ``start()`` and ``stop()``."""
    return _current is not None and _current.is_running()


def profile(rate_hz: float = 100, mode: str = "cpu") -> CpuProfiler:
    """Return a context manager: ``with profkit.cpu.profile() as p: ...; p.profile``."""
    return CpuProfiler(rate_hz, mode)
