"""Fetch a profile from a ``/debug/profile`` endpoint (or Go's pprof), as ``go tool pprof URL``.

Used by report inputs that are URLs (``profkit top URL``, ``report/sources.py``:
``fetch_profile``) and by ``profkit capture URL`` (``cli/cmd_capture.py``).

The URL may be the service's base (``http://127.0.0.1:8000``: the default prefix is
added), a prefix (``http://host/ops/prof``), or a full endpoint
(``http://host/debug/profile/heap``, ``http://host/debug/pprof/profile``). Timeouts follow
``go tool pprof``: 1.5 × seconds (60 s for point-in-time profiles) plus 5 s for the
HTTP exchange; an explicit ``--timeout`` bounds each read and, added to the
capture's duration, the whole exchange. The overall deadline holds even against a
server that trickles bytes: one line, nothing written. The body is checked to be a profile before anything is written, and
written atomically, so an error or Ctrl-C leaves no partial file.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from profkit.errors import CommandError, InputError, ProfileFormatError
from profkit.model import Profile, parse
from profkit.model.kinds import BY_NAME, CAPTURE_TYPES, DEFAULT_PREFIX

MAX_BODY = 256 * 1024 * 1024
MAX_SECONDS = 366 * 24 * 3600  # a year: longer windows or timeouts are typos
_CHUNK = 1 << 16
_GRACE = 1.0  # the worker enforces the deadline itself; the main thread backs it up


class UsageError(InputError):
    """A bad URL or option for a URL input: one line, exit status 2 (as argparse)."""

    exit_code = 2


@dataclass(frozen=True)
class Target:
    """Where to fetch from and how long it should take (``seconds`` None = point in time)."""

    url: str
    kind: str
    seconds: Optional[float]
    timeout: float
    #: seconds the whole exchange may take (connect, headers, body): the capture's
    #: duration plus an explicit --timeout, else ``timeout`` (which includes it)
    deadline: float = 0.0

    def total(self) -> float:
        """Return the overall deadline in seconds (``deadline``, else ``timeout``)."""
        return self.deadline or self.timeout


#: ``<prefix>/requests/<id>``: a per-request profile the middleware kept.
_REQUEST_PROFILE = re.compile(r"/requests/[0-9]+$")


def _is_prefix(path: str) -> bool:
    """Return whether ``path`` names a mount prefix rather than one endpoint.

    The default prefix ``/debug/profile`` ends in ``profile``, Go's name for the CPU
    endpoint, so it is recognised as a prefix (with or without a trailing slash). Any
    path ending in ``/`` is a prefix too (``/ops/profile/``); otherwise a last segment
    that names a profile (``/debug/pprof/heap``, ``/ops/profile``) is an endpoint.
    """
    if path.rstrip("/") in ("", DEFAULT_PREFIX) or path.endswith("/"):
        return True
    last = path.rsplit("/", 1)[-1]
    return last not in BY_NAME or not BY_NAME[last].profile


def _check_number(name: str, value: float) -> float:
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"{name} must be a positive number of seconds, got {value:g}")
    if value > MAX_SECONDS:
        raise UsageError(f"{name} {value:g} is too long (at most {MAX_SECONDS} s)")
    return value


def _format_seconds(seconds: float) -> str:
    """``10`` for whole numbers (never ``1e+06``), else the shortest exact decimal."""
    return str(int(seconds)) if seconds == int(seconds) else repr(seconds)


def build_target(
    url: str, kind: Optional[str], seconds: Optional[float], timeout: Optional[float] = None
) -> Target:
    """Return the endpoint URL for ``kind`` under ``url``; InputError on a bad combination.

    ``kind`` None means the kind named by the URL, else ``cpu``. ``seconds`` None means
    30 for cpu/wall and a point-in-time profile for the others (a number = delta, which
    must be whole: the server parses it as an integer, as Go does). ``seconds`` and
    ``timeout`` must be finite, positive and at most ``MAX_SECONDS``. Errors are
    ``UsageError`` (an ``InputError`` the CLI reports with exit status 2).
    """
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not one
    except ValueError as e:  # "Invalid IPv6 URL", "Port out of range 0-65535" ...
        raise UsageError(f"{url}: not a valid URL ({e}); example: http://127.0.0.1:8000") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"{url}: not an http(s) URL (example: http://127.0.0.1:8000)")
    path = parts.path
    if _REQUEST_PROFILE.search(path):  # one request's kept profile: fetched as it is
        if kind is not None or seconds is not None:
            raise UsageError(f"{url}: a kept request profile takes no --type or --seconds")
        if timeout is not None:
            _check_number("--timeout", timeout)
        wait = timeout if timeout is not None else 65.0
        return Target(url, "request profile", None, wait, wait)
    if not _is_prefix(path):
        last = path.rsplit("/", 1)[-1]
        named = BY_NAME[last].name
        if kind is not None and BY_NAME.get(kind) is not BY_NAME[last]:
            raise UsageError(f"--type {kind} contradicts the URL, which asks for {last}")
        kind = named
    else:
        kind = kind or "cpu"
        if kind not in BY_NAME or not BY_NAME[kind].profile:
            raise UsageError(f"--type {kind}: choose from {', '.join(CAPTURE_TYPES)}")
        path = (path.rstrip("/") or DEFAULT_PREFIX) + "/" + kind
    canonical = BY_NAME[kind].name
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if seconds is None and "seconds" in query:
        try:
            seconds = float(query["seconds"])
        except ValueError:
            raise UsageError(f"seconds={query['seconds']!r} in the URL is not a number") from None
    if seconds is None and canonical in ("cpu", "wall"):
        seconds = 30.0
    if seconds is not None:
        _check_number("--seconds", seconds)
        if canonical not in ("cpu", "wall") and seconds != int(seconds):
            raise UsageError(
                f"--seconds {seconds:g}: a {canonical} delta needs a whole number of seconds"
            )
        query["seconds"] = _format_seconds(seconds)
    if timeout is None:
        timeout = (seconds * 1.5 if seconds is not None else 60.0) + 5.0
        deadline = timeout
    else:
        _check_number("--timeout", timeout)
        deadline = (seconds or 0.0) + timeout
    full = urlunsplit((parts.scheme, parts.netloc, path, urlencode(query), ""))
    return Target(full, canonical, seconds, timeout, deadline)


def _server_message(err: urllib.error.HTTPError) -> str:
    try:
        body = err.read(4096).decode("utf-8", "replace").strip()
    except Exception:
        body = ""
    first = body.splitlines()[0].strip() if body else ""
    ctype = err.headers.get("Content-Type", "") if err.headers else ""
    status = f"{err.code} {err.reason}"
    if first and ctype.startswith("text/plain"):
        return f"server answered {status}: {first}"
    if err.code == 404:
        return f"server answered {status} (no profiling endpoint at this URL: is the middleware mounted, with this prefix?)"
    return f"server answered {status}"


def _read_body(resp: Any, target: Target, deadline: float) -> bytes:
    """Read the body in chunks, giving up once ``deadline`` (monotonic) has passed.

    Each read waits at most the per-read timeout (or what is left of the deadline),
    so a server trickling one byte a second is cut off at the deadline, not never.
    """
    sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
    body = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise CommandError(_timeout_message(target))
        if sock is not None:
            sock.settimeout(min(target.timeout, left))
        chunk = resp.read1(_CHUNK)
        if not chunk:
            return bytes(body)
        body += chunk
        if len(body) > MAX_BODY:
            raise CommandError(f"the response from {target.url} is larger than {MAX_BODY} bytes")


def fetch(target: Target, headers: Dict[str, str]) -> Tuple[bytes, str]:
    """GET ``target.url``; return (body, content type). CommandError with one line on failure.

    The whole exchange must end within ``target.total()`` seconds; each socket read
    within ``target.timeout``.
    """
    deadline = time.monotonic() + target.total()
    req = urllib.request.Request(target.url, headers={"User-Agent": "profkit-capture", **headers})
    host = urlsplit(target.url).netloc
    try:
        with urllib.request.urlopen(req, timeout=min(target.timeout, target.total())) as resp:
            ctype = str(resp.headers.get("Content-Type", ""))
            body = _read_body(resp, target, deadline)
    except urllib.error.HTTPError as e:
        raise CommandError(_server_message(e)) from None
    except urllib.error.URLError as e:
        reason = e.reason
        if isinstance(reason, ConnectionRefusedError):
            raise CommandError(f"cannot connect to {host}: connection refused (is the service running?)") from None
        if isinstance(reason, (socket.timeout, TimeoutError)):
            raise CommandError(_timeout_message(target)) from None
        if isinstance(reason, socket.gaierror):
            raise CommandError(f"cannot resolve {host}: {reason.strerror or reason}") from None
        raise CommandError(f"cannot fetch {target.url}: {reason}") from None
    except (socket.timeout, TimeoutError):
        raise CommandError(_timeout_message(target)) from None
    except ConnectionError as e:
        raise CommandError(f"connection to {host} failed: {e.strerror or type(e).__name__}") from None
    return body, ctype


def _timeout_message(target: Target) -> str:
    return f"no complete answer from {target.url} within {target.total():g} s (raise --timeout?)"


def check_profile(body: bytes, ctype: str, url: str) -> Profile:
    """Return the parsed profile; CommandError if ``body`` is not one."""
    try:
        return parse(body)
    except ProfileFormatError as e:
        if "profile is too large" in str(e):  # a bomb or over a limit: name the cap
            raise CommandError(f"the response from {url}: {e}") from None  # the CLI escapes it
        head = body[:60].decode("utf-8", "replace").replace("\n", " ").strip()
        raise CommandError(
            f"the response from {url} is not a profile (Content-Type {ctype or 'none'}, "
            f"starts with {head!r})"
        ) from None


def fetch_with_progress(target: Target, headers: Dict[str, str], *, show_bar: bool) -> Tuple[bytes, str]:
    """Run ``fetch`` in a worker thread while the main thread shows progress.

    Ctrl-C in the main thread propagates at once (the worker is a daemon thread and
    its result is dropped), so nothing is written.
    """
    result: Dict[str, object] = {}

    def work() -> None:
        try:
            result["value"] = fetch(target, headers)
        except BaseException as e:  # handed to the main thread
            result["error"] = e

    worker = threading.Thread(target=work, name="profkit-capture", daemon=True)
    deadline = time.monotonic() + target.total() + _GRACE
    worker.start()
    if show_bar:
        _progress(worker, target, deadline)
    while worker.is_alive():
        if time.monotonic() > deadline:  # stuck before the body (trickled headers): give up
            raise CommandError(_timeout_message(target))
        worker.join(0.1)
    if "error" in result:
        raise result["error"]  # type: ignore[misc]
    return result["value"]  # type: ignore[return-value]


def _progress(worker: threading.Thread, target: Target, deadline: float) -> None:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    total = target.seconds or 0.0
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, console=Console(stderr=True)) as progress:
        task = progress.add_task(f"capturing {target.kind}", total=total or None)
        start = time.monotonic()
        while worker.is_alive() and time.monotonic() <= deadline:
            if total:
                done = min(time.monotonic() - start, total)
                progress.update(task, completed=done)
                if done >= total:
                    progress.update(task, description="waiting for the server")
            worker.join(0.1)


def auth_headers(token: Optional[str]) -> Dict[str, str]:
    """Return the Authorization header for ``token`` (or ``$PROFKIT_TOKEN``), if any."""
    token = token or os.environ.get("PROFKIT_TOKEN") or None
    return {"Authorization": f"Bearer {token}"} if token else {}


def is_url(source: str) -> bool:
    """Return whether a report source names a URL (``http://`` or ``https://``)."""
    return source.startswith(("http://", "https://"))


def fetch_profile(url: str, *, seconds: Optional[float] = None, timeout: Optional[float] = None,
                  progress: bool = False, token: Optional[str] = None) -> Profile:
    """Fetch and return the profile at ``url`` as ``go tool pprof URL`` does.

    ``seconds`` / ``timeout`` as ``go tool pprof -seconds / -timeout`` (``seconds``
    overrides the URL's ``?seconds=``; a bare service URL means the CPU profile for
    30 s). ``progress`` draws capture's progress bar on stderr. ``$PROFKIT_TOKEN``
    (or ``token``) is sent as a bearer token. Errors: UsageError (exit 2) for a bad
    URL or number; CommandError (exit 1) for an unreachable server, an HTTP error,
    a timeout, or a body that is not a profile; each one line naming the URL.
    """
    target = build_target(url, None, seconds, timeout)
    body, ctype = fetch_with_progress(target, auth_headers(token), show_bar=progress)
    return check_profile(body, ctype, target.url)
