"""The profiles the endpoints serve: names, Go aliases, descriptions, and how to collect each.

Collectors are imported when a profile is requested, never at mount or import time, so
mounting the middleware costs nothing until someone asks for a profile. Heap and lock
profiles need process-wide collectors that must be switched on beforehand (``enable=``
at mount, or ``profkit run --heap/--block/--mutex``); ``feature_enabled`` says whether
they are.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from profkit.model import Profile
from profkit.model import kinds as model_kinds

Snapshot = Callable[[], Profile]


def collector(name: str) -> Any:
    """Import and return ``profkit.collect.<name>`` (at request time, not at mount)."""
    return importlib.import_module(f"profkit.collect.{name}")


def _heap() -> Profile:
    heap = collector("heap")

    return heap.snapshot()


def _allocs() -> Profile:
    heap = collector("heap")

    return heap.allocs_snapshot()


def _threads() -> Profile:
    threads = collector("threads")

    return threads.snapshot()


def _threadcreate() -> Profile:
    threads = collector("threads")

    return threads.threadcreate_profile()


def _block() -> Profile:
    locks = collector("locks")

    return locks.block_profile()


def _mutex() -> Profile:
    locks = collector("locks")

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


_SNAPSHOTS: Dict[str, Snapshot] = {
    "heap": _heap, "allocs": _allocs, "threads": _threads, "threadcreate": _threadcreate,
    "block": _block, "mutex": _mutex,
}
# The list of kinds is profkit.model.kinds.KINDS; this adds how to collect each.
KINDS: Tuple[ProfileKind, ...] = tuple(
    ProfileKind(k.name, k.description, k.aliases, k.timed, _SNAPSHOTS.get(k.name), k.feature)
    for k in model_kinds.KINDS
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
    try:
        return _feature_enabled(feature)
    except ImportError:
        return False


def _feature_enabled(feature: str) -> bool:
    if feature == "heap":
        heap = collector("heap")

        return bool(heap.is_running())
    if feature == "locks":
        locks = collector("locks")

        return bool(locks.is_enabled())
    return False


def enable_features(features: Tuple[str, ...], *, heap_interval_bytes: int) -> Tuple[str, ...]:
    """Start the collectors named in ``features`` unless already running.

    Returns the features this call started (so that only those are stopped later).
    Lock profiling covers locks created *after* this call.
    """
    started = []
    if "heap" in features:
        heap = collector("heap")

        if not heap.is_running():
            heap.start(interval_bytes=heap_interval_bytes)
            started.append("heap")
    if "locks" in features:
        locks = collector("locks")

        if not locks.is_enabled():
            locks.enable()
            started.append("locks")
    return tuple(started)


def disable_features(features: Tuple[str, ...]) -> None:
    """Stop the collectors named in ``features`` (those ``enable_features`` started)."""
    if "heap" in features:
        heap = collector("heap")

        heap.stop()
    if "locks" in features:
        locks = collector("locks")

        locks.disable()
