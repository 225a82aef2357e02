"""Route a request under the mount prefix to a profile, following Go's ``net/http/pprof``.

``ProfileEndpoints.handle(request) -> Response`` is synchronous and may block for the
capture window (``/cpu``, ``/wall``, delta profiles): WSGI servers call it on their
worker thread, the ASGI adapter in a thread pool. It never raises: any failure inside
a collector becomes a one-line 500, and the traceback goes to the ``profkit.endpoints``
logger, not to the client.

Parameters and errors (endpoints.md §3-§5): ``seconds`` on cpu/wall is the window
(default 30, capped by ``max_seconds``); on the other profiles it asks for a delta
(snapshot, wait, snapshot, subtract). ``debug=N`` gives text. Unknown names are 404
``Unknown profile``; a second CPU/wall capture is 500 ``Could not enable CPU profiling:
cpu profiling already in use`` with ``X-Go-Pprof: 1``, which ``go tool pprof`` prints.
"""

from __future__ import annotations

import gc
import logging
import math
import sys
import time
from typing import Callable, Optional, Union

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
from profkit.errors import CollectorBusyError
from profkit.model import Profile, serialize

log = logging.getLogger("profkit.endpoints")

BAD_SECONDS = 'invalid value for "seconds" - must be a positive integer'
BAD_WINDOW = 'invalid value for "seconds" - must be a positive number'
NO_SECONDS = '"seconds" parameter is not supported for this profile type'
SECONDS_AND_DEBUG = "seconds and debug params are incompatible"
BUSY = "Could not enable CPU profiling: cpu profiling already in use"
CANCELLED = "profile request cancelled: the client went away"
POLL_SECONDS = 0.2


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


def _parse_debug(raw: Optional[str]) -> int:
    """Go's rule: ``debug`` that does not parse counts as 0."""
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return 0


def _parse_seconds(raw: str, *, integer: bool) -> Optional[float]:
    """Return a positive finite number of seconds, or None if ``raw`` is not one."""
    try:
        value: Union[int, float] = int(raw) if integer else float(raw)
    except ValueError:
        return None
    if not math.isfinite(value) or value <= 0:
        return None
    return float(value)


class ProfileEndpoints:
    """The framework-neutral ``/debug/profile`` handler for one configuration."""

    def __init__(self, config: EndpointConfig):
        """Prepare the handler; starts the collectors named in ``config.enable``."""
        self.config = config
        self._networks = config.networks()
        self._started: tuple[str, ...] = ()
        if config.enable:
            self._started = enable_features(
                tuple(config.enable), heap_interval_bytes=config.heap_interval_bytes
            )

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
        """Answer ``request`` (whose ``path`` is relative to the prefix). Never raises."""
        try:
            denied = check_access(self.config, self._networks, request)
            if denied is not None:
                return denied
            return self._dispatch(request)
        except Exception as e:  # a profiler failure must not become a traceback
            log.exception("profkit endpoint %s failed", request.path)
            return http.error(500, f"profkit: internal error: {type(e).__name__}")

    def _dispatch(self, request: http.Request) -> http.Response:
        mount = request.base_path + self.config.prefix
        if request.path == "":
            return http.redirect(mount + "/")
        if request.path == "/":
            return http.html(render_index(mount, self.config))
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
                f'"seconds" is {seconds:g}, more than this server allows '
                f"({self.config.max_seconds}, its max_seconds)",
            )
        return None

    def _timed(
        self, kind: ProfileKind, name: str, raw: Optional[str], request: http.Request
    ) -> http.Response:
        if raw is None:
            seconds = float(min(self.config.default_seconds, self.config.max_seconds))
        else:
            parsed = _parse_seconds(raw, integer=False)
            if parsed is None:
                return http.error(400, BAD_WINDOW)
            seconds = parsed
        too_long = self._check_cap(seconds)
        if too_long is not None:
            return too_long
        from profkit.collect.cpu import CpuProfiler

        profiler = CpuProfiler(self.config.cpu_rate_hz, kind.name)
        try:
            profiler.start()
        except CollectorBusyError:
            return http.error(500, BUSY)
        try:
            completed = wait(seconds, request.disconnected)
        finally:
            prof = profiler.stop()
        if not completed:
            return http.error(500, CANCELLED)
        return http.profile_bytes(serialize(prof), f"{name}.pb.gz")

    def _snapshot(
        self, kind: ProfileKind, name: str, query: dict[str, str], request: http.Request
    ) -> http.Response:
        assert kind.snapshot is not None
        debug = _parse_debug(query.get("debug"))
        if "seconds" in query:
            seconds = _parse_seconds(query["seconds"], integer=True)
            if seconds is None:
                return http.error(400, BAD_SECONDS)
            if debug != 0:
                return http.error(400, SECONDS_AND_DEBUG)
            too_long = self._check_cap(seconds)
            if too_long is not None:
                return too_long
        if kind.feature is not None and not feature_enabled(kind.feature):
            return http.error(501, ENABLE_HINTS[kind.feature])
        if "seconds" in query:
            return self._delta(kind, name, float(query["seconds"]), request)
        if kind.name == "heap" and _parse_debug(query.get("gc")) > 0:
            gc.collect()
        if debug > 0 and kind.name == "threads":
            return http.text(collector("threads").format_text(debug))
        prof = kind.snapshot()
        if debug > 0:
            return http.text(_debug_text(prof, name))
        return http.profile_bytes(serialize(prof), f"{name}.pb.gz")

    def _delta(
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


def _debug_text(prof: Profile, name: str) -> str:
    """Return a readable text summary (pprof's top) of ``prof`` for ``?debug=1``."""
    from profkit.options import ViewOptions
    from profkit.render.text import render_top
    from profkit.views.top import top

    header = f"# {name}: {len(prof.samples)} samples\n"
    return header + render_top(top(prof, ViewOptions()))
