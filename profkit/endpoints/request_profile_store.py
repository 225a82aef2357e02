"""The kept per-request profiles: a store bounded by count and bytes, and its converter.

``ProfileStore.submit`` takes a finished request's record with a function that makes its
pprof bytes; the store's converter thread (started when needed, ended after a minute idle)
calls it after the request is answered, and keeps the record within the bounds
(``request_profiles``' module doc). At most ``MAX_PENDING`` records wait; past that the
request that submits converts them itself. Reading the store first waits for the records
submitted before the read, so a profile is listed once its request has been answered. In a
forked child the store gets fresh locks and drops the parent's pending records.
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


MAX_PENDING = 8  # answered requests whose profiles wait for the converter; more wait inline
IDLE_S = 60.0  # the converter thread ends after this long with nothing to convert

_stores: weakref.WeakSet[ProfileStore] = weakref.WeakSet()


class ProfileStore:
    """Kept request profiles, bounded by count and bytes (``request_profiles``' module doc),
    and the ones waiting for their conversion. Thread-safe."""

    def __init__(self, kept: int, slowest: int, max_bytes: int) -> None:
        self.kept, self.slowest, self.max_bytes = kept, slowest, max_bytes
        self._asked: List[RequestProfile] = []  # oldest first
        self._slow: List[RequestProfile] = []  # slowest first
        self._bytes = 0
        self._lock = threading.Lock()
        self._pending: Deque[Tuple[RequestProfile, Callable[[], bytes]]] = collections.deque()
        self._submitted = 0  # records ever submitted ...
        self._settled = 0  # ... and how many of them are converted (or failed to)
        self._converter: Optional[threading.Thread] = None
        self._converting = threading.Lock()  # held while one record is converted
        self._wakeup = threading.Condition(self._lock)  # a record is pending
        _stores.add(self)

    def _after_fork_in_child(self) -> None:
        """A forked child: fresh locks (the parent's converter, which may have held them, is
        not here), and the parent's pending records are dropped (they are the parent's)."""
        self._lock = threading.Lock()
        self._converting = threading.Lock()
        self._wakeup = threading.Condition(self._lock)
        self._converter = None
        self._pending.clear()
        self._settled = self._submitted

    def submit(self, rec: RequestProfile, convert: Callable[[], bytes]) -> None:
        """Keep ``rec`` once ``convert()`` has made its bytes, on the converter thread.

        Returns at once, unless ``MAX_PENDING`` records already wait: then it converts
        what was submitted up to ``rec`` itself. A failed conversion is logged and the
        record dropped. Reading the store first waits for the records submitted before.
        """
        with self._lock:
            self._pending.append((rec, convert))
            self._submitted += 1
            upto = self._submitted
            inline = len(self._pending) > MAX_PENDING
            if not inline:
                self._wakeup.notify()
                if self._converter is None or not self._converter.is_alive():  # or forked
                    thread = threading.Thread(target=_convert_while_alive, args=(weakref.ref(self),),
                                              name="profkit-request-profiles", daemon=True)
                    try:
                        thread.start()
                        self._converter = thread
                    except RuntimeError:  # no new threads (interpreter shutdown)
                        inline = True
        if inline:
            self._settle(upto)

    def _convert_one(self) -> bool:
        """Convert and keep the oldest pending record; False if there is none.
        The caller holds ``_converting``."""
        with self._lock:
            if not self._pending:
                return False
            rec, convert = self._pending.popleft()
        try:
            rec.data = convert()
        except Exception:
            log.warning("profkit: could not convert request profile %s", rec.id, exc_info=True)
        else:
            if not self.add(rec) and rec.trigger == "asked":
                log.warning("profkit: request profile %s (%d bytes) is larger than "
                            "profiles_max_bytes; not kept", rec.id, len(rec.data))
        with self._lock:
            self._settled += 1
        return True

    def _settle(self, upto: Optional[int] = None) -> None:
        """Return once the records submitted so far (or the first ``upto``) are converted,
        converting them here if the converter has not; not the ones submitted meanwhile."""
        with self._lock:
            upto = self._submitted if upto is None else upto
        while True:
            with self._converting:
                with self._lock:
                    if self._settled >= upto:
                        return
                if not self._convert_one():
                    return

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
        self._settle()
        with self._lock:
            both = self._asked + self._slow
        return sorted(both, key=lambda r: -r.time_s)

    def get(self, rid: str) -> Optional[RequestProfile]:
        """Return the kept profile called ``rid``, or None."""
        self._settle()
        with self._lock:
            return next((r for r in self._asked + self._slow if r.id == rid), None)

    def total_bytes(self) -> int:
        """Return the bytes of all kept profiles."""
        self._settle()
        with self._lock:
            return self._bytes


def _convert_while_alive(ref: weakref.ReferenceType[ProfileStore]) -> None:
    """A store's converter thread: convert its pending records one at a time (a reader
    may take its turn between two); end after ``IDLE_S`` idle or once the store is gone."""
    while True:
        store = ref()
        if store is None:
            return
        with store._lock:
            if not store._pending:
                store._wakeup.wait(IDLE_S)
                if not store._pending:
                    if store._converter is threading.current_thread():
                        store._converter = None
                    return
        with store._converting:
            store._convert_one()
        del store


def _after_fork_in_child() -> None:
    for store in list(_stores):
        store._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
