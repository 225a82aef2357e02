"""Shared state of the lock profiler: on/off, sampling fraction, and the samples.

Samples are aggregated by (kind, raw stack, lock creation site) into
``[contentions, delay_ns]`` already scaled to totals (a sampled event stands for
``fraction`` events). All state is guarded by a raw ``_thread`` lock, which the
profiler never wraps, and every public function here is thread-safe.
"""

from __future__ import annotations

import _thread
import time
from random import random
from typing import Dict, List, Tuple

from profkit.collect import _stackcapture
from profkit.model import Profile
from profkit.model.builder import FrameKey, ProfileBuilder

BLOCK = "block"
MUTEX = "mutex"
DOC_URL = "https://github.com/profkit/profkit/blob/main/docs/COLLECTORS-heap-locks.md"


class _State:
    """Mutable profiler state; read without locking on hot paths (plain attribute reads)."""

    def __init__(self) -> None:
        self.enabled = False
        self.fraction = 1
        self.started_ns = 0
        self.stopped_ns = 0


state = _State()
_data_lock = _thread.allocate_lock()
_data: Dict[Tuple[str, _stackcapture.RawStack, str], List[int]] = {}


def sampled() -> bool:
    """Return True if this contention event is recorded (1 in ``state.fraction``)."""
    f = state.fraction
    return f <= 1 or random() * f < 1.0


def record(kind: str, stack: _stackcapture.RawStack, delay_ns: int, site: str) -> None:
    """Add one sampled event of ``delay_ns`` (scaled up by the fraction) for ``stack``."""
    f = state.fraction if state.fraction > 1 else 1
    key = (kind, stack, site)
    with _data_lock:
        v = _data.get(key)
        if v is None:
            _data[key] = [f, delay_ns * f]
        else:
            v[0] += f
            v[1] += delay_ns * f


def reset() -> None:
    """Drop every recorded sample."""
    with _data_lock:
        _data.clear()


def build(kind: str) -> Profile:
    """Return the ``block`` or ``mutex`` profile of what was recorded so far.

    Sample types are Go's ``contentions/count`` and ``delay/nanoseconds``; each
    sample carries a string label ``lock`` = the lock's creation site (module:line).
    """
    with _data_lock:
        items = [(k, list(v)) for k, v in _data.items() if k[0] == kind]
    b = ProfileBuilder(
        [("contentions", "count"), ("delay", "nanoseconds")],
        period_type=("contentions", "count"),
        period=1,
        doc_url=DOC_URL,
        comments=[f"profkit {kind} profile, sampling fraction 1/{max(state.fraction, 1)}"],
    )
    cache: Dict[Tuple[int, int], FrameKey] = {}
    for (_, stack, site), values in items:
        b.add(_stackcapture.to_frame_keys(stack, cache), values, labels={"lock": site})
    start = state.started_ns or time.time_ns()
    end = state.stopped_ns if not state.enabled and state.stopped_ns else time.time_ns()
    return b.build(duration_nanos=max(end - start, 0), time_nanos=start)
