"""Heap profiles: Go's heap and allocs profiles for Python, cheap enough to leave on.

``start(interval_bytes)`` begins sampling allocations made through Python's object
and memory allocators (``PyObject_Malloc``/``PyMem_Malloc``: every Python object,
``bytes``/``bytearray``/``list`` buffers, most C extensions that use them). Sampling
is Go's: an allocation of ``s`` bytes is sampled with probability
``1 - exp(-s / interval_bytes)`` and reported scaled up by the inverse, so the
profile holds unsampled estimates. ``snapshot()`` returns the heap profile (four Go
sample types, readers default to ``inuse_space``) and ``allocs_snapshot()`` the
same data with ``default_sample_type = alloc_space``. ``inuse_*`` = sampled blocks
still alive, ``alloc_*`` = everything allocated since ``start``.

Two backends with the same API:

- ``native``: the ``_heaphook`` C extension (a ``PyMem_SetAllocator`` hook), built by
  the package's own build when a compiler is present. A few percent of overhead.
- ``tracemalloc``: pure Python, exact rather than sampled, several times slower; its
  ``alloc_*`` only sees blocks alive at a snapshot (see ``_heaptracemalloc``).

``backend="auto"`` (the default) picks ``native`` when it is importable.
Not seen by either: memory allocated with ``malloc`` directly by C extensions
(numpy data buffers, for example) and through ``PyMem_RawMalloc``.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Tuple

if TYPE_CHECKING:  # imported lazily: starting the profiler must not load protobuf & co.
    from profkit.collect._heapbuild import HeapRecord
    from profkit.collect._heaptracemalloc import TracemallocHeap
    from profkit.model import Profile
    from profkit.model.builder import FrameKey

__all__ = [
    "DEFAULT_INTERVAL",
    "allocs_snapshot",
    "available_backends",
    "backend",
    "is_running",
    "snapshot",
    "start",
    "stop",
]

DEFAULT_INTERVAL = 512 * 1024
"""Go's default ``runtime.MemProfileRate``: one sample per 512 KiB on average."""

try:  # the optional C extension (see setup.py)
    from profkit.collect import _heaphook as _native  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - depends on the build
    _native = None

_switch = threading.Lock()  # created at import, before any lock profiling patch


class _Session:
    def __init__(self, backend: str, interval: int) -> None:
        self.backend = backend
        self.interval = interval
        self.running = False
        self.start_ns = time.time_ns()
        self.end_ns = 0
        self.tracer: Optional[TracemallocHeap] = None


_session: Optional[_Session] = None


def available_backends() -> List[str]:
    """Return the backends usable in this interpreter, preferred first."""
    return (["native"] if _native is not None else []) + ["tracemalloc"]


def start(interval_bytes: int = DEFAULT_INTERVAL, *, backend: str = "auto", seed: int = 0) -> None:
    """Start heap profiling, sampling once per ``interval_bytes`` allocated on average.

    ``interval_bytes=1`` records every allocation. ``seed`` (native backend) makes the
    sampling reproducible. Earlier data is discarded. Raises ``CollectorBusyError`` if
    heap profiling is already running, ``InputError`` for a bad interval or backend.
    """
    global _session
    if not isinstance(interval_bytes, int) or interval_bytes < 1:
        from profkit.errors import InputError

        raise InputError(f"heap sampling interval must be an integer >= 1 byte, got {interval_bytes!r}")
    if backend == "auto":
        backend = available_backends()[0]
    if backend not in available_backends():
        from profkit.errors import InputError

        raise InputError(f"heap backend {backend!r} is not available here "
                         f"(available: {', '.join(available_backends())})")
    with _switch:
        if _session is not None and _session.running:
            from profkit.errors import CollectorBusyError

            raise CollectorBusyError("heap profiling already in use")
        s = _Session(backend, interval_bytes)
        if backend == "native":
            _native.start(float(interval_bytes), seed or int.from_bytes(os.urandom(8), "little"))
        else:
            from profkit.collect._heaptracemalloc import TracemallocHeap

            s.tracer = TracemallocHeap()
            s.tracer.start()
        s.running = True
        _session = s


def stop() -> None:
    """Stop heap profiling; the data stays readable with ``snapshot()``. Safe to repeat."""
    with _switch:
        s = _session
        if s is None or not s.running:
            return
        if s.tracer is not None:
            s.tracer.stop()
        else:
            _native.stop()
        s.running = False
        s.end_ns = time.time_ns()


def is_running() -> bool:
    """Return True while heap profiling is running."""
    return _session is not None and _session.running


def backend() -> str:
    """Return the backend of the current or last session ("" if none yet)."""
    return _session.backend if _session is not None else ""


def snapshot() -> Profile:
    """Return the heap profile now (``inuse_space`` is the default sample type).

    Raises ``InputError`` if heap profiling was never started.
    """
    return _snapshot(allocs_view=False)


def allocs_snapshot() -> Profile:
    """Return the allocs profile now: the heap data with ``default_sample_type = alloc_space``."""
    return _snapshot(allocs_view=True)


def _snapshot(*, allocs_view: bool) -> Profile:
    with _switch:
        s = _session
        if s is None:
            from profkit.errors import InputError

            raise InputError("heap profiling was never started (call profkit.collect.heap.start)")
        records = _records(s)
        end = s.end_ns if not s.running else time.time_ns()
    from profkit.collect._heapbuild import build_heap_profile

    how = ("exact (tracemalloc backend)" if s.backend == "tracemalloc"
           else f"sampled every {s.interval} bytes on average, values scaled up")
    return build_heap_profile(
        records, interval=s.interval, allocs_view=allocs_view,
        start_ns=s.start_ns, end_ns=end, comment=f"profkit heap profile, {how}",
    )


def _records(s: _Session) -> List[HeapRecord]:
    if s.tracer is not None:
        if s.running:
            s.tracer.poll()
        return s.tracer.records()
    import gc

    gc_was_enabled = gc.isenabled()
    gc.disable()  # no finalizer may run while the C tables are read
    try:
        raw: List[Tuple[Any, float, float, float, float]] = _native.records()
    finally:
        if gc_was_enabled:
            gc.enable()
    from profkit.collect._heapbuild import frames_from_codes

    cache: Dict[Tuple[int, int], FrameKey] = {}
    out: List[HeapRecord] = []
    for st, ac, ab, fc, fb in raw:
        frames = frames_from_codes(st, cache)
        if frames is not None:  # None: profkit's own allocations
            out.append((frames, ac, ab, fc, fb))
    return out


atexit.register(stop)
