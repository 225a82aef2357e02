"""One profile from every worker of a multi-process server (gunicorn, uvicorn ``--workers``).

When the middleware is mounted in a worker whose parent is a gunicorn or uvicorn
master (``is_server_worker``), each worker runs an agent thread serving a Unix-domain
socket ``<pid>.sock`` (mode 0600) in a private per-master directory
(``$XDG_RUNTIME_DIR/profkit/<master-pid>/`` or ``/tmp/profkit-<uid>/<master-pid>/``,
every level 0700 and owned by us, checked with ``lstat``, never followed through a
symlink). A profile request landing on any worker is fanned out by ``Workers.gather``:
every socket in the directory (the worker's own included) is asked for the same
path and query at once, and told how many were asked: a CPU or wall capture then samples
at 1/N of the configured rate in each of N workers (100 Hz in all, not 100 Hz per worker:
N samplers on a few cores cost the service N times the CPU and the latency); each agent answers through the endpoints' own dispatch (same
parameters, same errors, no access check: the caller already passed it, and only our
uid can reach the socket). The profiles are merged (``profkit.analysis.merge``), each
sample labelled ``pid`` and ``worker`` (1..N in pid order within this capture), and
the comment ``workers answered: K of N (missing: pid P (reason), ...)`` is added.
A worker that dies mid-capture, a stale socket of a dead worker (removed once its pid
is gone) and a busy worker are named as missing; the others still arrive. When none
answers with a profile, the first worker's error is returned as it is.

Nothing listens on the network; single-process servers do not start an agent.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from profkit.endpoints import http
from profkit.endpoints.worker_sockets import SERVERS, is_server_worker, pid_alive, socket_dir

if TYPE_CHECKING:
    from profkit.endpoints.core import ProfileEndpoints

log = logging.getLogger("profkit.endpoints")

GRACE_SECONDS = 15.0  # beyond the capture window, for a sibling to build its answer
HEADER = struct.Struct("!HI")  # status, body length
POLL_SECONDS = 0.2  # how often a waiting coordinator checks that its client is still there
CANCELLED = "profile request cancelled: the client went away"
MAX_SHARE = 64  # workers a CPU capture's rate is shared among, at most


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed before the answer was complete")
        buf += chunk
    return bytes(buf)


class Workers:
    """The agent of this worker and the fan-out of profile requests to its siblings."""

    def __init__(self, endpoints: ProfileEndpoints, directory: Path):
        """Bind ``<directory>/<pid>.sock`` and start the agent thread serving it."""
        self.endpoints = endpoints
        self.directory = directory
        self.pid = os.getpid()
        self.path = directory / f"{self.pid}.sock"
        if self.path.exists() or self.path.is_symlink():
            self.path.unlink()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            self._listener.bind(str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._listener.listen(16)
        threading.Thread(target=self._serve, name="profkit-worker-agent", daemon=True).start()
        atexit.register(self.close)

    def close(self) -> None:
        """Stop listening, remove this worker's socket, and the directory once empty."""
        if os.getpid() != self.pid:
            return
        for undo in (self._listener.close, self.path.unlink, self.directory.rmdir):
            try:
                undo()
            except OSError:
                pass

    # -- agent side ---------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), name="profkit-worker-capture",
                             daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                (length,) = struct.unpack("!I", _recv_exact(conn, 4))
                asked = json.loads(_recv_exact(conn, min(length, 65536)))

                def gone() -> bool:
                    try:
                        return conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
                    except (BlockingIOError, InterruptedError):
                        return False
                    except OSError:
                        return True

                share = asked.get("share", 1)
                share = share if isinstance(share, int) and 1 <= share <= MAX_SHARE else 1
                request = http.Request("GET", str(asked["path"]), str(asked["query"]),
                                       disconnected=gone, rate_share=share)
                response = self.endpoints.dispatch_local(request)
            except Exception as e:  # a bad or vanished caller must not kill the agent
                log.debug("profkit worker agent: %s", e)
                return
            try:
                conn.sendall(HEADER.pack(response.status, len(response.body)) + response.body)
            except OSError:
                pass

    # -- coordinator side ---------------------------------------------------------

    def _ask(self, sock_path: Path, request: http.Request, timeout: float,
             opened: List[socket.socket], share: int) -> Tuple[int, bytes]:
        body = json.dumps(
            {"path": request.path, "query": request.query_string, "share": share}
        ).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            opened.append(s)
            s.settimeout(5)
            s.connect(str(sock_path))
            s.sendall(struct.pack("!I", len(body)) + body)
            s.settimeout(timeout)
            status, length = HEADER.unpack(_recv_exact(s, HEADER.size))
            return status, _recv_exact(s, length)

    def gather(self, request: http.Request, window: float) -> http.Response:
        """Ask every worker for ``request`` at once; return the merged profile (module doc).

        ``window`` is the capture's length in seconds (0 for a point-in-time profile).
        """
        socks = sorted(self.directory.glob("*.sock"), key=lambda p: int(p.stem) if p.stem.isdigit() else 0)
        share = max(1, min(MAX_SHARE, sum(1 for p in socks if p.stem.isdigit())))
        answers: Dict[int, Tuple[int, bytes]] = {}
        failures: Dict[int, str] = {}
        opened: List[socket.socket] = []

        def ask(path: Path, pid: int) -> None:
            try:
                answers[pid] = self._ask(path, request, window + GRACE_SECONDS, opened, share)
            except (ConnectionRefusedError, FileNotFoundError):
                alive = pid_alive(pid)
                failures[pid] = "not answering" if alive else "not running"
                if not alive:
                    try:
                        path.unlink()
                    except OSError:
                        pass
            except socket.timeout:
                failures[pid] = "timed out"
            except (OSError, ConnectionError, struct.error):
                failures[pid] = "died during the capture" if _dies(pid) else "connection lost"

        threads = []
        for path in socks:
            if not path.stem.isdigit():
                continue
            t = threading.Thread(target=ask, args=(path, int(path.stem)), daemon=True)
            t.start()
            threads.append(t)
        if not _wait_all(threads, request.disconnected):
            for s in list(opened):  # each agent sees its caller go and stops early
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return http.error(500, CANCELLED)
        return self._merge(answers, failures, len(threads))

    def _merge(self, answers: Dict[int, Tuple[int, bytes]], failures: Dict[int, str],
               asked: int) -> http.Response:
        from profkit.analysis import merge
        from profkit.model import parse, serialize

        profiles = []
        first_error: Optional[Tuple[int, bytes]] = None
        for pid in sorted(answers):
            status, body = answers[pid]
            if status != 200:
                failures[pid] = (body.decode("utf-8", "replace").strip() or f"HTTP {status}")
                first_error = first_error or (status, body)
                continue
            profiles.append((pid, parse(body)))
        if not profiles:
            if first_error is not None:
                return http.error(first_error[0], first_error[1].decode("utf-8", "replace"))
            return http.error(500, "no profkit worker answered: " + _missing(failures))
        for number, (pid, prof) in enumerate(profiles, 1):
            prof.comments = [f"pid {pid}: {c}" for c in prof.comments]
            for s in prof.samples:
                s.labels["pid"] = [str(pid)]
                s.labels["worker"] = [str(number)]
        merged = merge([p for _, p in profiles])
        # the workers ran the same window side by side: its length, not their sum (pprof's
        # Merge adds durations), so percentages of the duration read as cores, as on one process
        merged.duration_nanos = max(p.duration_nanos for _, p in profiles)
        note = f"workers answered: {len(profiles)} of {asked}"
        if failures:
            note += f" (missing: {_missing(failures)})"
        merged.comments.append(note)
        response = http.profile_bytes(serialize(merged), "profile.pb.gz")
        response.headers.append(("X-Profkit-Workers", f"{len(profiles)}/{asked}"))
        return response


def _dies(pid: int, within: float = 1.0) -> bool:
    """Whether ``pid`` is gone within ``within`` s (a killed process closes its sockets first)."""
    deadline = time.monotonic() + within
    while pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _wait_all(threads: List[threading.Thread], disconnected: Callable[[], bool]) -> bool:
    """Join ``threads``; return False as soon as ``disconnected()`` turns true (polled)."""
    for t in threads:
        while t.is_alive():
            t.join(POLL_SECONDS)
            try:
                if t.is_alive() and disconnected():
                    return False
            except Exception:
                pass
    return True


def _missing(failures: Dict[int, str]) -> str:
    return ", ".join(f"pid {pid} ({why})" for pid, why in sorted(failures.items()))


def start_if_worker(endpoints: ProfileEndpoints, enabled: Optional[bool]) -> Callable[[], Optional[Workers]]:
    """Return a getter of this process's ``Workers`` (None when not a server worker).

    ``enabled``: None detects (``is_server_worker``), False never starts, True always
    does (parent = master). The agent is started on first use in each process, so a
    middleware built before ``fork`` (gunicorn ``--preload``) gets one per worker.
    """
    state: Dict[int, Optional[Workers]] = {}
    lock = threading.Lock()

    def get() -> Optional[Workers]:
        pid = os.getpid()
        if pid in state:
            return state[pid]
        with lock:
            if pid not in state:
                workers: Optional[Workers] = None
                if enabled or (enabled is None and is_server_worker()):
                    try:
                        workers = Workers(endpoints, socket_dir(os.getppid()))
                    except OSError as e:
                        log.warning("profkit: per-worker profiles are off: %s", e)
                state[pid] = workers
        return state[pid]

    if enabled or (enabled is None and any(name in sys.modules for name in SERVERS)):
        get()
        os.register_at_fork(after_in_child=get)
    return get
