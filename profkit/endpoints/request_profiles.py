"""Per-request profiles: one request's own wall-clock profile, taken by pyinstrument.

A request asks with the header ``X-Profkit-Profile: 1`` or the query parameter
``profkit_profile=1``; it is honoured only for a client that ``check_access`` would let
fetch ``/debug/profile`` itself (loopback, ``allow``, ``token``), whatever the request's
method. A request that does not ask costs one header and one query-string check.

The profile is pyinstrument's (``Profiler(async_mode="enabled")``: asyncio awaits are
attributed to the coroutine that awaits, as an ``[await]`` leaf), converted to pprof by
``profkit.importers.pyinstrument.from_document`` and kept in a ``ProfileStore``. The
conversion (~0.1-2 ms) is not the request's: a converter thread does it after the
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

import itertools
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, List, Mapping, Optional, Sequence

from profkit.endpoints import http
from profkit.endpoints.config import EndpointConfig, Network, check_access
from profkit.endpoints.request_profile_store import ProfileStore, RequestProfile

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
        try:
            session = self._profiler.stop()
        except Exception:
            log.debug("profkit: stopping a request profile failed", exc_info=True)
            self.owner.release()
            return
        self.owner.release()
        store = self.owner.store
        if self.trigger != "asked" and not store.would_keep_slow(duration):
            return
        rec = RequestProfile(self.id, method, route, path, status, duration, self.time_s,
                             self.trigger)
        pool = self._pool_sessions
        store.submit(rec, lambda: _to_pprof(session, f"{method} {path}", pool))


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


_mounts: weakref.WeakSet[RequestProfiles] = weakref.WeakSet()


class RequestProfiles:
    """The trigger check, the profilers and the store of one mount."""

    def __init__(self, config: EndpointConfig, networks: Sequence[Network]) -> None:
        self.config, self._networks = config, networks
        self.auto = config.slowest > 0
        self.store = ProfileStore(config.profiles_kept, config.slowest, config.profiles_max_bytes)
        self._ids = itertools.count(1)
        self._active = threading.BoundedSemaphore(MAX_ACTIVE)
        _mounts.add(self)

    def _after_fork_in_child(self) -> None:
        """A forked child runs none of the parent's profiled requests: every slot is free."""
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


def _after_fork_in_child() -> None:
    for mount in list(_mounts):
        mount._after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
