"""Per-request profiles: one request's own wall-clock profile, taken by pyinstrument.

A request asks with the header ``X-Profkit-Profile: 1`` or the query parameter
``profkit_profile=1``; it is honoured only for a client that ``check_access`` would let
fetch ``/debug/profile`` itself (loopback, ``allow``, ``token``), whatever the request's
method. A request that does not ask costs one header and one query-string check.

The profile is pyinstrument's (``Profiler(async_mode="enabled")``: asyncio awaits are
attributed to the coroutine that awaits, as an ``[await]`` leaf), converted to pprof by
``profkit.importers.pyinstrument.from_document`` and kept in a ``ProfileStore``. The
conversion (0.4-1.5 ms) is not the request's: a converter thread does it after the
request is answered, and listing or downloading waits for the ones under way. The
answer to the app's client is unchanged apart from one response header,
``X-Profkit-Profile: <id>`` (or ``busy`` when the request asked but could not be
profiled: ``MAX_ACTIVE`` profiled requests already run on this mount, or pyinstrument
refused a second profiler in the same thread or async context). Profiling never turns
into an error for the app's client: every profiler failure is logged and the request is
answered as if it had not asked.

With ``slowest=N`` every request is profiled and the N slowest are kept as well (the
whole cost of pyinstrument on every request; off by default).

The store is bounded by count (``profiles_kept`` asked-for ones, oldest evicted;
``slowest`` automatic ones, fastest evicted) and by the serialized bytes of all of them
(``profiles_max_bytes``: oldest asked-for first, then fastest automatic). It is
thread-safe. ``GET <prefix>/requests`` lists them (HTML, ``?format=json``);
``GET <prefix>/requests/<id>`` downloads one as gzipped ``profile.proto``.
"""

from __future__ import annotations

import collections
import dataclasses
import itertools
import logging
import threading
import time
from typing import Any, Callable, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

from profkit.endpoints import http
from profkit.endpoints.config import EndpointConfig, Network, check_access

log = logging.getLogger("profkit.endpoints")

TRIGGER_HEADER = "x-profkit-profile"
TRIGGER_QUERY = "profkit_profile"
RESPONSE_HEADER = "X-Profkit-Profile"
BUSY = "busy"
MAX_ACTIVE = 4  # profiled requests at once, per mount; more are answered unprofiled


def query_asks(query_string: str) -> bool:
    """Return whether a raw query string carries ``profkit_profile=`` with a true value."""
    if TRIGGER_QUERY not in query_string:
        return False
    for part in query_string.split("&"):
        name, _, value = part.partition("=")
        if name == TRIGGER_QUERY:
            return value not in ("", "0", "false", "no")
    return False


def header_asks(value: Optional[str]) -> bool:
    """Return whether an ``X-Profkit-Profile`` header value asks for a profile."""
    return value is not None and value.strip().lower() not in ("", "0", "false", "no")


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


class ProfileStore:
    """Kept request profiles, bounded by count and bytes (module doc). Thread-safe."""

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


class ActiveProfile:
    """A running pyinstrument profiler for one request; ``finish`` stops and stores it."""

    def __init__(self, owner: RequestProfiles, rid: str, trigger: str, profiler: Any) -> None:
        self.owner, self.id, self.trigger, self._profiler = owner, rid, trigger, profiler
        self.time_s = time.time()
        self._t0 = time.perf_counter()
        self._done = False
        self._pool_sessions: List[Any] = []

    def run_in_thread(self, call: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        """Return ``call(*args, **kwargs)`` profiled on this (pool) thread; its samples join
        the request's profile. Never fails because of the profiler."""
        try:
            from pyinstrument import Profiler

            profiler = Profiler(interval=self.owner.config.profile_interval, async_mode="disabled")
            profiler.start()
        except Exception:
            log.debug("profkit: could not profile a pool thread", exc_info=True)
            return call(*args, **kwargs)
        try:
            return call(*args, **kwargs)
        finally:
            try:
                self._pool_sessions.append(profiler.stop())
            except Exception:
                log.debug("profkit: stopping a pool-thread profile failed", exc_info=True)

    def finish(self, method: str, route: str, path: str, status: int) -> None:
        """Stop the profiler (on the thread that started it) and keep the profile. Never raises."""
        if self._done:
            return
        self._done = True
        duration = time.perf_counter() - self._t0
        owner = self.owner
        try:
            session = self._profiler.stop()
        except Exception:
            log.debug("profkit: stopping a request profile failed", exc_info=True)
            owner.release()
            return
        if self.trigger != "asked" and not owner.store.would_keep_slow(duration):
            owner.release()
            return
        rec = RequestProfile(self.id, method, route, path, status, duration, self.time_s,
                             self.trigger)
        pool = self._pool_sessions

        def convert() -> bytes:
            try:
                return _to_pprof(session, f"{method} {path}", pool)
            finally:  # the slot is held until then: MAX_ACTIVE sessions in memory at most
                owner.release()

        owner.store.submit(rec, convert)


def _to_pprof(session: Any, what: str, pool_sessions: Sequence[Any] = ()) -> bytes:
    """Convert the request's session (and its pool threads', samples appended) to pprof."""
    from profkit.importers.pyinstrument import from_document
    from profkit.model import serialize

    doc = session.to_json()
    records = list(doc["frame_records"])
    for extra in pool_sessions:
        records.extend(extra.frame_records)
    doc["frame_records"] = [[list(stack), t] for stack, t in records]
    prof = from_document(doc, "request")
    prof.comments.append(f"request: {what}")
    return bytes(serialize(prof))


class RequestProfiles:
    """The trigger check, the profilers and the store of one mount."""

    def __init__(self, config: EndpointConfig, networks: Sequence[Network]) -> None:
        self.config, self._networks = config, networks
        self.auto = config.slowest > 0
        self.store = ProfileStore(config.profiles_kept, config.slowest, config.profiles_max_bytes)
        self._ids = itertools.count(1)
        self._active = threading.BoundedSemaphore(MAX_ACTIVE)

    def allowed(self, client: Optional[str], headers: Mapping[str, str]) -> bool:
        """Return whether this client may have its request profiled (the endpoints' policy)."""
        probe = http.Request(method="GET", path="/requests", client=client, headers=headers)
        return check_access(self.config, self._networks, probe) is None

    def release(self) -> None:
        """Give back one of the ``MAX_ACTIVE`` slots."""
        self._active.release()

    def start(self, trigger: str) -> Optional[ActiveProfile]:
        """Start profiling the current request on this thread/context; None when busy."""
        if not self._active.acquire(blocking=False):
            return None
        try:
            from pyinstrument import Profiler

            profiler = Profiler(interval=self.config.profile_interval, async_mode="enabled")
            profiler.start()
        except Exception:  # another profiler in this context, or pyinstrument missing
            log.debug("profkit: could not start a request profile", exc_info=True)
            self._active.release()
            return None
        return ActiveProfile(self, str(next(self._ids)), trigger, profiler)
