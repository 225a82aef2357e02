"""Shared state of the lock profiler: on/off, sampling, and the samples.

Sampling (``weight``): an event is kept with probability ``p = min(1, delay /
sample_delay_ns) / fraction`` and then stands for ``1/p`` events, so the stored
``[contentions, delay_ns]`` are unbiased estimates of the totals (Go does the same
for its block profile rate, and ``fraction`` is ``SetMutexProfileFraction``). Short
waits are therefore cheap: a program that waits T seconds in total builds at most
about ``T / sample_delay_ns`` stacks, whatever the number of events.

Samples are aggregated by (kind, raw stack, lock creation site). All state is
guarded by a raw ``_thread`` lock, which the profiler never wraps; every function
here is thread-safe.
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
DEFAULT_SAMPLE_DELAY_NS = 1_000_000
"""Waits at least this long are always recorded (at fraction 1); shorter ones sampled."""
DOC_URL = "https://github.com/profkit/profkit/blob/main/docs/COLLECTORS-heap-locks.md"


class _State:
    """Mutable profiler state; read without locking on hot paths (plain attribute reads)."""

    def __init__(self) -> None:
        self.enabled = False
        self.fraction = 1
        self.sample_delay_ns = DEFAULT_SAMPLE_DELAY_NS
        self.started_ns = 0
        self.stopped_ns = 0


state = _State()
_data_lock = _thread.allocate_lock()
_data: Dict[Tuple[str, _stackcapture.RawStack, str], List[float]] = {}


def weight(delay_ns: int) -> float:
    """Return how many events this one stands for if it is sampled, else 0.0."""
    p = delay_ns / state.sample_delay_ns if delay_ns < state.sample_delay_ns else 1.0
    f = state.fraction
    if f > 1:
        p /= f
    if p >= 1.0:
        return 1.0
    if p > 0.0 and random() < p:
        return 1.0 / p
    return 0.0


def record(kind: str, stack: _stackcapture.RawStack, delay_ns: int, w: float, site: str) -> None:
    """Add one sampled event of ``delay_ns`` standing for ``w`` events for ``stack``."""
    key = (kind, stack, site)
    with _data_lock:
        v = _data.get(key)
        if v is None:
            _data[key] = [w, delay_ns * w]
        else:
            v[0] += w
            v[1] += delay_ns * w


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
        items = [(k, [round(x) for x in v]) for k, v in _data.items() if k[0] == kind]
    b = ProfileBuilder(
        [("contentions", "count"), ("delay", "nanoseconds")],
        period_type=("contentions", "count"),
        period=1,
        doc_url=DOC_URL,
        comments=[
            f"profkit {kind} profile, sampling fraction 1/{max(state.fraction, 1)}, waits under "
            f"{state.sample_delay_ns} ns sampled in proportion to their length"
        ],
    )
    cache: Dict[Tuple[int, int], FrameKey] = {}
    for (_, stack, site), values in items:
        b.add(_stackcapture.to_frame_keys(stack, cache), values, labels={"lock": site})
    start = state.started_ns or time.time_ns()
    end = state.stopped_ns if not state.enabled and state.stopped_ns else time.time_ns()
    return b.build(duration_nanos=max(end - start, 0), time_nanos=start)
