"""Route a request under the mount prefix to a profile, following Go's ``net/http/pprof``.

``ProfileEndpoints.handle(request) -> Response`` is synchronous and may block for the
capture window (``/cpu``, ``/wall``, delta profiles): WSGI servers call it on their
worker thread, the ASGI adapter in a thread pool. It never raises: any failure inside
a collector becomes a one-line 500, and the traceback goes to the ``profkit.endpoints``
logger, not to the client.

Parameters and errors (endpoints.md §3-§5): ``seconds`` on cpu/wall is the window
(default 30, capped by ``max_seconds``); on the other profiles it asks for a delta
(snapshot, wait, snapshot, subtract) and must be a positive integer as Go's
``strconv.ParseInt`` reads it. ``debug=N`` (N >= 0; else 400) gives text, and on
``/threads`` N >= 2 is the full dump, as in Go. Unknown names are 404 ``Unknown
profile``. Busy profilers answer 500 with ``X-Go-Pprof: 1`` (which ``go tool pprof``
prints) at once, never queue: a second CPU/wall capture (``Could not enable CPU
profiling: cpu profiling already in use``, naming the kind that runs) and a second
delta while one waits (``MAX_DELTAS``), so profile requests cannot tie up the
server's threads.
"""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable, Optional

from profkit.endpoints import http
from profkit.endpoints.catalog import (
    BY_NAME,
    ENABLE_HINTS,
    ProfileKind,
    collector,
    disable_features,
    enable_features,
    feature_enabled,
)
from profkit.endpoints.config import EndpointConfig, check_access
from profkit.endpoints.index import render_index
from profkit.endpoints.query_values import (
    BAD_DEBUG,
    BAD_SECONDS,
    BAD_WINDOW,
    NO_SECONDS,
    SECONDS_AND_DEBUG,
    fan_out_window,
    parse_debug,
    parse_seconds,
    seconds_text,
)
from profkit.endpoints.request_profiles import RequestProfiles
from profkit.errors import CollectorBusyError
from profkit.model import Profile, serialize

if TYPE_CHECKING:
    from profkit.report import ReportRequest

log = logging.getLogger("profkit.endpoints")

BUSY = "Could not enable CPU profiling: cpu profiling already in use"
MAX_DELTAS = 1  # delta waits at a time, per mount; each holds a server thread
CANCELLED = "profile request cancelled: the client went away"
POLL_SECONDS = 0.2
MIN_SHARED_RATE_HZ = 10.0  # a worker's share of a capture's rate never goes below this

_capturing_lock = threading.Lock()
_capturing: Optional[str] = None  # "cpu" or "wall" while one of our captures samples


def wait(seconds: float, disconnected: Callable[[], bool]) -> bool:
    """Sleep ``seconds``; return False early if ``disconnected()`` turns true (checked every 0.2 s)."""
    deadline = time.monotonic() + seconds
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return True
        time.sleep(min(POLL_SECONDS, remaining))
        try:
            if disconnected():
                return False
        except Exception:
            pass


def _busy(requested: str, running: Optional[str]) -> str:
    """Go's "already in use" line, naming what is actually running when we know it."""
    want = "CPU" if requested == "cpu" else requested
    if running is None:  # started outside these endpoints (profkit run, a library user)
        return f"Could not enable {want} profiling: a CPU or wall profile is already being collected"
    return f"Could not enable {want} profiling: {running} profiling already in use"


class ProfileEndpoints:
    """The framework-neutral ``/debug/profile`` handler for one configuration."""

    def __init__(self, config: EndpointConfig):
        """Prepare the handler; starts the collectors named in ``config.enable``."""
        self.config = config
        self._networks = config.networks()
        self._started: tuple[str, ...] = ()
        self._deltas = threading.BoundedSemaphore(MAX_DELTAS)
        self._delta_running: Optional[str] = None
        self.request_profiles = RequestProfiles(config, self._networks)
        if config.enable:
            self._started = enable_features(
                tuple(config.enable), heap_interval_bytes=config.heap_interval_bytes
            )
        from profkit.endpoints.workers import start_if_worker

        self.workers = start_if_worker(self, config.workers)

    def close(self) -> None:
        """Stop the process-wide collectors this handler started (for tests and shutdown)."""
        started, self._started = self._started, ()
        disable_features(started)

    def subpath(self, path: str) -> Optional[str]:
        """Return ``path`` relative to the prefix if it is ours (``""`` = the prefix), else None."""
        prefix = self.config.prefix
        if path == prefix:
            return ""
        if path.startswith(prefix + "/"):
            return path[len(prefix):]
        return None

    def handle(self, request: http.Request) -> http.Response:
        """Answer ``request`` (whose ``path`` is relative to the prefix). Never raises.

        A ``HEAD`` request gets the headers of its answer (405) and an empty body.
        """
        try:
            denied = check_access(self.config, self._networks, request)
            response = denied if denied is not None else self._dispatch(request)
        except Exception as e:  # a profiler failure must not become a traceback
            log.exception("profkit endpoint %s failed", request.path)
            response = http.error(500, f"profkit: internal error: {type(e).__name__}")
        if request.method == "HEAD":
            response.body = b""
        return response

    def _dispatch(self, request: http.Request) -> http.Response:
        workers = self.workers()
        window = fan_out_window(request, self.config) if workers is not None else None
        if workers is not None and window is not None:
            return workers.gather(request, window)
        return self.dispatch_local(request)

    def dispatch_local(self, request: http.Request) -> http.Response:
        """Answer an already-allowed ``request`` from this process alone (no fan-out)."""
        mount = request.base_path + self.config.prefix
        if request.path == "":
            return http.redirect(mount + "/")
        if request.path == "/":
            return http.html(render_index(mount, self.config))
        if request.path == "/requests" or request.path.startswith("/requests/"):
            from profkit.endpoints import request_profile_pages

            store = self.request_profiles.store
            return request_profile_pages.handle(mount, store, request.path, request.query())
        kind = BY_NAME.get(request.path[1:])
        if kind is None:
            return http.error(404, "Unknown profile")
        name = request.path[1:]
        query = request.query()
        if kind.name == "cmdline":
            if "seconds" in query:
                return http.error(400, NO_SECONDS)
            return http.text("\x00".join(sys.argv))
        if kind.timed:
            return self._timed(kind, name, query.get("seconds"), request)
        return self._snapshot(kind, name, query, request)

    def _check_cap(self, seconds: float) -> Optional[http.Response]:
        if seconds > self.config.max_seconds:
            return http.error(
                400,
                f'"seconds" is {seconds_text(seconds)}, more than this server allows '
                f"({self.config.max_seconds}, its max_seconds)",
            )
        return None

    def _timed(
        self, kind: ProfileKind, name: str, raw: Optional[str], request: http.Request
    ) -> http.Response:
        if raw is None:
            seconds = float(min(self.config.default_seconds, self.config.max_seconds))
        else:
            parsed = parse_seconds(raw, integer=False)
            if parsed is None:
                return http.error(400, BAD_WINDOW)
            seconds = parsed
        too_long = self._check_cap(seconds)
        if too_long is not None:
            return too_long
        from profkit.collect.cpu import CpuProfiler

        global _capturing
        # one of N workers: 1/N of the rate each, never above the configured rate itself
        floor = min(MIN_SHARED_RATE_HZ, self.config.cpu_rate_hz)
        profiler = CpuProfiler(max(floor, self.config.cpu_rate_hz / request.rate_share), kind.name)
        try:
            profiler.start()
        except CollectorBusyError:
            return http.error(500, _busy(kind.name, _capturing))
        with _capturing_lock:
            _capturing = kind.name
        try:
            completed = wait(seconds, request.disconnected)
        finally:
            with _capturing_lock:
                _capturing = None
            prof = profiler.stop()
        if not completed:
            return http.error(500, CANCELLED)
        return http.profile_bytes(serialize(prof), f"{name}.pb.gz")

    def _snapshot(
        self, kind: ProfileKind, name: str, query: dict[str, str], request: http.Request
    ) -> http.Response:
        assert kind.snapshot is not None
        debug = parse_debug(query.get("debug"))
        if debug is None:
            return http.error(400, BAD_DEBUG)
        seconds: Optional[float] = None
        if "seconds" in query:
            seconds = parse_seconds(query["seconds"], integer=True)
            if seconds is None:
                return http.error(400, BAD_SECONDS)
            if debug != 0:
                return http.error(400, SECONDS_AND_DEBUG)
            too_long = self._check_cap(seconds)
            if too_long is not None:
                return too_long
        if kind.feature is not None and not feature_enabled(kind.feature):
            return http.error(501, ENABLE_HINTS[kind.feature])
        if seconds is not None:
            return self._delta(kind, name, seconds, request)
        if kind.name == "heap" and (parse_debug(query.get("gc")) or 0) > 0:
            gc.collect()
        if debug > 0 and kind.name == "threads":  # Go: debug >= 2 is the full dump
            return http.text(collector("threads").format_text(min(debug, 2)))
        if debug > 0:
            from profkit.errors import InputError
            from profkit.report import ReportRequest

            try:  # bad options are refused before the snapshot is taken
                request_ = ReportRequest.from_query([Profile()], query, kind="top")
                return http.text(_debug_text(kind.snapshot(), name, request_))
            except InputError as e:
                return http.error(400, str(e))
        prof = kind.snapshot()
        return http.profile_bytes(serialize(prof), f"{name}.pb.gz")

    def _delta(
        self, kind: ProfileKind, name: str, seconds: float, request: http.Request
    ) -> http.Response:
        assert kind.snapshot is not None
        busy = self._delta_running
        if not self._deltas.acquire(blocking=False):
            return http.error(
                500,
                f"Could not start {name} delta profile: {busy or 'another delta'} is already "
                f"in progress (one delta profile at a time)",
            )
        self._delta_running = f"{name}?seconds={seconds_text(seconds)}"
        try:
            return self._delta_locked(kind, name, seconds, request)
        finally:
            self._delta_running = None
            self._deltas.release()

    def _delta_locked(
        self, kind: ProfileKind, name: str, seconds: float, request: http.Request
    ) -> http.Response:
        assert kind.snapshot is not None
        from profkit.analysis import delta

        try:
            p0 = kind.snapshot()
            p0.time_nanos = time.time_ns()  # Go stamps each snapshot with "now"
            if not wait(seconds, request.disconnected):
                return http.error(500, CANCELLED)
            p1 = kind.snapshot()
            p1.time_nanos = time.time_ns()
        except Exception:
            log.exception("profkit: collecting %s failed", name)
            return http.error(500, "failed to collect profile")
        try:
            result = delta(p0, p1)
        except Exception:
            log.exception("profkit: delta of %s failed", name)
            return http.error(500, "failed to compute delta")
        return http.profile_bytes(serialize(result), f"{name}-delta.pb.gz")


def _debug_text(prof: Profile, name: str, request: Optional[ReportRequest] = None) -> str:
    """Return the text report of ``prof`` for ``?debug=1`` (pprof's top by default).

    ``request`` is the ``ReportRequest`` the query string made
    (``ReportRequest.from_query``: ``f``, ``i``, ``si``, ``n``, ``g``, ``report`` ...,
    pprof's URL names); its options apply to ``prof``. A text renderer must exist for
    its ``report`` kind; InputError (one line, a 400) otherwise, or on an unknown
    sample index.
    """
    from profkit.render.registry import produce
    from profkit.report import ReportRequest

    req = request if request is not None else ReportRequest([prof])
    req = req.with_changes(sources=[prof], format="text", want_profile=False)
    out = produce(req)
    text = out.decode("utf-8", "replace") if isinstance(out, bytes) else out
    return f"# {name}: {len(prof.samples)} samples\n" + text
