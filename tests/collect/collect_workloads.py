"""CPU-time based workloads for collector tests (robust on a loaded machine)."""

from __future__ import annotations

import time


def burn_cpu(seconds: float) -> None:
    """Spin until this thread has used ``seconds`` of CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def func_a(seconds: float) -> None:
    """A CPU burner with its own name."""
    burn_cpu(seconds)


def func_b(seconds: float) -> None:
    """Another CPU burner with its own name."""
    burn_cpu(seconds)


def split_70_30(total_cpu_s: float, chunk_s: float = 0.01) -> None:
    """Alternate func_a (70 %) and func_b (30 %) in small chunks, by CPU time."""
    end = time.thread_time() + total_cpu_s
    while time.thread_time() < end:
        func_a(chunk_s * 0.7)
        func_b(chunk_s * 0.3)


def recurse(depth: int, seconds: float) -> None:
    """Recurse ``depth`` frames, then burn ``seconds`` of CPU."""
    if depth <= 0:
        burn_cpu(seconds)
        return
    recurse(depth - 1, seconds)
