"""The kept per-request profiles: a store bounded by count and bytes, and its converter.

``ProfileStore.submit`` takes a finished request's record with a function that makes its
pprof bytes; the store's converter thread (one per store, started at the first profile and
kept) calls it after the request is answered, and keeps the record within the bounds
(``request_profiles``' module doc). Reading the store first waits for what is pending, so a
profile is listed once its request has been answered. In a forked child the store gets
fresh locks (the parent's converter thread is not there).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
import weakref
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

log = logging.getLogger("profkit.endpoints")


@dataclasses.dataclass
class RequestProfile:
    """One kept profile: what the request was and its pprof bytes (gzipped)."""

    id: str
    method: str
    route: str
    path: str
    status: int
    duration_s: float
    time_s: float  # wall-clock start, seconds since the epoch
    trigger: str  # "asked" or "slowest"
    data: bytes = b""

    def summary(self) -> Dict[str, Any]:
        """Return the JSON-ready fields (everything but the bytes, plus their size)."""
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "data"}
        out["bytes"] = len(self.data)
        return out


_stores: weakref.WeakSet[ProfileStore] = weakref.WeakSet()


class ProfileStore:
    """Kept request profiles, bounded by count and bytes (``request_profiles``' module doc). Thread-safe."""

    def __init__(self, kept: int, slowest: int, max_bytes: int) -> None:
        self.kept, self.slowest, self.max_bytes = kept, slowest, max_bytes
        self._asked: List[RequestProfile] = []  # oldest first
        self._slow: List[RequestProfile] = []  # slowest first
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: Deque[Tuple[RequestProfile, Callable[[], bytes]]] = collections.deque()
        self._converter: Optional[threading.Thread] = None
        self._converting = threading.Lock()  # held while pending records are converted
        self._wakeup = threading.Condition(self._lock)  # a record is pending
        _stores.add(self)

    def _after_fork_in_child(self) -> None:
        """Fresh locks in a forked child: the converter thread (which may have held them) is
        not there; pending records are converted by the child's next converter."""
        self._lock = threading.Lock()
        self._converting = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._converter = None

    def submit(self, rec: RequestProfile, convert: Callable[[], bytes]) -> None:
        """Keep ``rec`` once ``convert()`` has made its bytes, on the converter thread.

        Returns at once. A failed conversion is logged and the record dropped; reading the
        store (``records``, ``get``, ``total_bytes``) first waits for pending records.
        """
        with self._lock:
            self._pending.append((rec, convert))
            self._wakeup.notify()
            if self._converter is not None and self._converter.is_alive():  # not if forked
                return
            self._converter = threading.Thread(
                target=self._convert_forever, name="profkit-request-profiles", daemon=True
            )
            try:
                self._converter.start()
                return
            except RuntimeError:  # no new threads (interpreter shutdown): convert here
                self._converter = None
        self._convert_pending()

    def _convert_forever(self) -> None:
        """The converter thread: wait for pending records and convert them (it stays, so
        that a request does not pay for a thread's start)."""
        while True:
            with self._lock:
                while not self._pending:
                    self._wakeup.wait()
            self._convert_pending()

    def _convert_pending(self) -> None:
        """Convert and keep every pending record (the converter thread, or a reader)."""
        with self._converting:
            while True:
                with self._lock:
                    if not self._pending:
                        return
                    rec, convert = self._pending.popleft()
                try:
                    rec.data = convert()
                except Exception:
                    log.warning("profkit: could not convert request profile %s", rec.id,
                                exc_info=True)
                    continue
                if not self.add(rec) and rec.trigger == "asked":
                    log.warning("profkit: request profile %s (%d bytes) is larger than "
                                "profiles_max_bytes; not kept", rec.id, len(rec.data))

    def would_keep_slow(self, duration_s: float) -> bool:
        """Return whether an automatic profile of this duration would be kept now."""
        with self._lock:
            return len(self._slow) < self.slowest or (
                self.slowest > 0 and duration_s > self._slow[-1].duration_s
            )

    def add(self, rec: RequestProfile) -> bool:
        """Keep ``rec`` and evict to stay within the bounds; False if it was not kept."""
        if len(rec.data) > self.max_bytes:
            return False
        with self._lock:
            if rec.trigger == "asked":
                self._asked.append(rec)
            else:
                self._slow.append(rec)
                self._slow.sort(key=lambda r: -r.duration_s)
            self._bytes += len(rec.data)
            while len(self._asked) > self.kept:
                self._bytes -= len(self._asked.pop(0).data)
            while len(self._slow) > self.slowest:
                self._bytes -= len(self._slow.pop().data)
            while self._bytes > self.max_bytes:
                victim = self._asked.pop(0) if self._asked else self._slow.pop()
                self._bytes -= len(victim.data)
            return any(r is rec for r in self._asked) or any(r is rec for r in self._slow)

    def records(self) -> List[RequestProfile]:
        """Return every kept profile, newest first."""
        self._convert_pending()
        with self._lock:
            both = self._asked + self._slow
        return sorted(both, key=lambda r: -r.time_s)

    def get(self, rid: str) -> Optional[RequestProfile]:
        """Return the kept profile called ``rid``, or None."""
        self._convert_pending()
        with self._lock:
            return next((r for r in self._asked + self._slow if r.id == rid), None)

    def total_bytes(self) -> int:
        """Return the bytes of all kept profiles."""
        self._convert_pending()
        with self._lock:
            return self._bytes


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
