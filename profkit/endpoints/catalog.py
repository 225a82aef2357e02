"""The profiles the endpoints serve: names, Go aliases, descriptions, and how to collect each.

Collectors are imported when a profile is requested, never at mount or import time, so
mounting the middleware costs nothing until someone asks for a profile. Heap and lock
profiles need process-wide collectors that must be switched on beforehand (``enable=``
at mount, or ``profkit run --heap/--block/--mutex``); ``feature_enabled`` says whether
they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple

from profkit.model import Profile

Snapshot = Callable[[], Profile]


def _heap() -> Profile:
    from profkit.collect import heap

    return heap.snapshot()


def _allocs() -> Profile:
    from profkit.collect import heap

    return heap.allocs_snapshot()


def _threads() -> Profile:
    from profkit.collect import threads

    return threads.snapshot()


def _threadcreate() -> Profile:
    from profkit.collect import threads

    return threads.threadcreate_profile()


def _block() -> Profile:
    from profkit.collect import locks

    return locks.block_profile()


def _mutex() -> Profile:
    from profkit.collect import locks

    return locks.mutex_profile()


@dataclass(frozen=True)
class ProfileKind:
    """One servable profile.

    ``timed`` kinds (cpu, wall) sample for ``seconds``; the others are point-in-time
    ``snapshot``s that become delta profiles when ``seconds`` is given. ``feature``
    names what must be enabled first (``"heap"`` or ``"locks"``), if anything.
    """

    name: str
    description: str
    aliases: Tuple[str, ...] = ()
    timed: bool = False
    snapshot: Optional[Snapshot] = None
    feature: Optional[str] = None


KINDS: Tuple[ProfileKind, ...] = (
    ProfileKind("cpu", "CPU time of every thread, sampled for ?seconds=N (default 30).",
                aliases=("profile",), timed=True),
    ProfileKind("wall", "Wall-clock time of every thread, running or waiting, for ?seconds=N.",
                timed=True),
    ProfileKind("heap", "Sampled live allocations: who holds memory now. ?gc=1 collects first; "
                "?seconds=N gives the change over N seconds.", snapshot=_heap, feature="heap"),
    ProfileKind("allocs", "Sampled allocations since heap profiling started (alloc_space by "
                "default); ?seconds=N gives those made during N seconds.",
                snapshot=_allocs, feature="heap"),
    ProfileKind("threads", "Stacks of all threads and asyncio tasks. ?debug=1 groups them as "
                "text, ?debug=2 is a full dump.", aliases=("goroutine",), snapshot=_threads),
    ProfileKind("threadcreate", "Stacks that created the live threads.", snapshot=_threadcreate),
    ProfileKind("block", "Time spent waiting to acquire locks, by waiting stack.",
                snapshot=_block, feature="locks"),
    ProfileKind("mutex", "Contended locks, by the stack that held them.",
                snapshot=_mutex, feature="locks"),
    ProfileKind("cmdline", "The command line of this process (sys.argv, NUL-separated)."),
)

BY_NAME: Dict[str, ProfileKind] = {}
for _kind in KINDS:
    BY_NAME[_kind.name] = _kind
    for _alias in _kind.aliases:
        BY_NAME[_alias] = _kind

ENABLE_HINTS: Dict[str, str] = {
    "heap": "heap profiling is not enabled: mount with enable=(\"heap\",) "
    "(e.g. ProfileMiddleware(app, enable=[\"heap\"])) or run under `profkit run --heap`",
    "locks": "lock profiling is not enabled: mount with enable=(\"locks\",) "
    "(e.g. ProfileMiddleware(app, enable=[\"locks\"])) or run under `profkit run --block --mutex`",
}


def feature_enabled(feature: str) -> bool:
    """Return whether the process-wide collector behind ``feature`` is running."""
    if feature == "heap":
        from profkit.collect import heap

        return bool(heap.is_running())
    if feature == "locks":
        from profkit.collect import locks

        return bool(locks.is_enabled())
    return False


def enable_features(features: Tuple[str, ...], *, heap_interval_bytes: int) -> None:
    """Start the collectors named in ``features`` unless already running (idempotent)."""
    if "heap" in features:
        from profkit.collect import heap

        if not heap.is_running():
            heap.start(interval_bytes=heap_interval_bytes)
    if "locks" in features:
        from profkit.collect import locks

        if not locks.is_enabled():
            locks.enable()
