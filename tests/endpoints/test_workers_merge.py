"""One profile from every worker: real gunicorn (sync, gthread; 4 workers) and uvicorn (2 workers).

Each server starts once per module with its own XDG_RUNTIME_DIR, so its worker sockets
are seen (and waited for) in a private directory. The worker pids are the ones the
server logs ("Booting worker with pid", "Started server process"); the app's ``/pid``
route must answer within that set.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Set

import pytest
from endpoint_servers import ROOT, WsgiServer, fetch, free_port, wait_until_serving

from profkit.cli import main
from profkit.endpoints import ProfileMiddleware
from profkit.model import Profile, load, parse

APPS = Path(__file__).parent / "apps"
LOGGED_PID = re.compile(rb"(?:Booting worker with pid: |Started server process \[)(\d+)")


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path
    sockets: Path  # the private directory of this master's worker sockets

    def worker_pids(self) -> Set[int]:
        """The live workers among those the server logged."""
        logged = {int(m) for m in LOGGED_PID.findall(self.log.read_bytes())}
        return {pid for pid in logged if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"}

    def wait_for_workers(self, count: int, timeout: float = 30) -> None:
        """Wait until ``count`` worker sockets exist and ``count`` live workers are logged
        (a worker's log line can come after its socket: it was seen missing once in CI)."""
        deadline = time.monotonic() + timeout
        while (len(list(self.sockets.glob("*.sock"))) < count
               or len(self.worker_pids()) < count):
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, (
                f"{count} workers did not appear (sockets and log): {self.log.read_text()}")
            time.sleep(0.05)


def _start(cmd: List[str], tmp: Path, workers: int) -> Iterator[Server]:
    runtime = tmp / "run"
    runtime.mkdir(mode=0o700)
    log = tmp / "server.log"
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(runtime), PYTHONUNBUFFERED="1")
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=APPS)
    server = Server(f"http://127.0.0.1:{cmd[cmd.index('--port') + 1]}" if "--port" in cmd
                    else "http://127.0.0.1:" + cmd[cmd.index("-b") + 1].rsplit(":", 1)[1],
                    proc, log, runtime / "profkit" / str(proc.pid))
    try:
        wait_until_serving(server.url + "/pid", proc)
        server.wait_for_workers(workers)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _gunicorn(kind: str, tmp: Path) -> Iterator[Server]:
    cmd = [sys.executable, "-m", "gunicorn", "-k", kind, "-w", "4", "--threads", "4",
           "-b", f"127.0.0.1:{free_port()}", "--timeout", "60", "workers_app:wsgi_application"]
    yield from _start(cmd, tmp, 4)


@pytest.fixture(scope="module")
def gunicorn_sync(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _gunicorn("sync", tmp_path_factory.mktemp("sync"))


@pytest.fixture(scope="module")
def gunicorn_gthread(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _gunicorn("gthread", tmp_path_factory.mktemp("gthread"))


@pytest.fixture(scope="module")
def uvicorn_2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cmd = [sys.executable, "-m", "uvicorn", "--workers", "2", "--host", "127.0.0.1",
           "--port", str(free_port()), "--log-level", "info", "workers_app:asgi_application"]
    yield from _start(cmd, tmp_path_factory.mktemp("uvicorn"), 2)


def _load(url: str, stop: threading.Event, served: List[int]) -> None:
    for _ in range(3000):  # bounded: a capture of 2 s needs far fewer
        if stop.is_set():
            return
        status, _, body = fetch(url + "/spin", timeout=10)
        assert status == 200
        served.append(1)


@contextlib.contextmanager
def loaded(server: Server, clients: int = 6) -> Iterator[None]:
    """Keep ``clients`` threads requesting ``/spin`` from ``server`` while the block runs."""
    stop = threading.Event()
    served: List[int] = []
    load = [threading.Thread(target=_load, args=(server.url, stop, served)) for _ in range(clients)]
    for t in load:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in load:
            t.join(30)
    assert served, "the load generator was never served"


def capture_under_load(server: Server, path: str) -> Profile:
    with loaded(server):
        status, headers, body = fetch(server.url + path, timeout=60)
    assert status == 200, body
    return parse(body)


def pids_in(prof: Profile) -> Set[int]:
    return {int(s.labels["pid"][0]) for s in prof.samples if any(s.values)}


def workers_comment(prof: Profile) -> str:
    found = [c for c in prof.comments if c.startswith("workers answered:")]
    assert len(found) == 1, prof.comments
    return found[0]


def test_single_process_server_is_unchanged(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    def hello(environ: Any, start_response: Callable[..., Any]) -> List[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    middleware = ProfileMiddleware(hello)  # in this (pytest) process: no master
    assert middleware.endpoints.workers() is None
    with wsgi_server(middleware) as srv:
        status, headers, body = fetch(srv.url + "/debug/profile/threads")
    assert status == 200 and "X-Profkit-Workers" not in headers
    assert not [c for c in parse(body).comments if "workers answered" in c]


def test_pid_route_answers_from_the_logged_workers(gunicorn_gthread: Server) -> None:
    pids = gunicorn_gthread.worker_pids()
    assert len(pids) == 4
    seen = {int(fetch(gunicorn_gthread.url + "/pid")[2]) for _ in range(8)}
    assert seen <= pids


@pytest.mark.parametrize("fixture,path", [
    ("gunicorn_gthread", "/debug/profile/cpu?seconds=2"),
    ("uvicorn_2", "/debug/profile/cpu?seconds=2"),
    ("gunicorn_gthread", "/debug/profile/wall?seconds=2"),
    ("uvicorn_2", "/debug/profile/wall?seconds=2"),
    ("gunicorn_sync", "/debug/profile/wall?seconds=2"),
])
def test_capture_covers_every_worker(fixture: str, path: str, request: pytest.FixtureRequest) -> None:
    server: Server = request.getfixturevalue(fixture)
    pids = server.worker_pids()
    prof = capture_under_load(server, path)
    answered = {int(c.split(":", 1)[0][4:]) for c in prof.comments if c.startswith("pid ")}
    assert answered == pids  # each worker's own comments, under its pid
    # N workers share the rate: 100 Hz in all, not N x 100 Hz of samplers on the cores
    rates = {c.split("requested ", 1)[1].split(" Hz", 1)[0]
             for c in prof.comments if c.startswith("pid ") and "requested " in c}
    assert rates == {f"{100 / len(pids):g}"}, prof.comments
    if "wall" in path:  # wall samples every thread of every worker, busy or not
        assert pids_in(prof) == pids
    else:  # a worker the load missed for 2 s may have no CPU sample
        assert pids_in(prof) <= pids
    assert workers_comment(prof) == f"workers answered: {len(pids)} of {len(pids)}"
    assert 2e9 <= prof.duration_nanos < 4e9  # the 2 s window, not N windows added
    numbers = {s.labels["worker"][0] for s in prof.samples}
    assert numbers == {str(i) for i in range(1, len(pids) + 1)}
    if "cpu" in path:  # the load's CPU is in the profile, from more than one worker
        spin_pids = {int(s.labels["pid"][0]) for s in prof.samples
                     if any(loc.lines and loc.lines[0].function.name.endswith("spin_in_worker")
                            for loc in s.locations)}
        assert len(spin_pids) >= min(2, len(pids))


def test_point_in_time_profile_covers_every_worker(gunicorn_sync: Server) -> None:
    status, headers, body = fetch(gunicorn_sync.url + "/debug/profile/threads")
    assert status == 200
    prof = parse(body)
    assert pids_in(prof) == gunicorn_sync.worker_pids()
    assert headers["X-Profkit-Workers"] == "4/4"


def test_text_and_cmdline_answer_from_one_worker(gunicorn_gthread: Server) -> None:
    status, _, body = fetch(gunicorn_gthread.url + "/debug/profile/threads?debug=1")
    assert status == 200 and b"workers answered" not in body
    status, headers, _ = fetch(gunicorn_gthread.url + "/debug/profile/cmdline")
    assert status == 200 and "X-Profkit-Workers" not in headers


def test_a_bad_parameter_is_the_workers_error(gunicorn_gthread: Server) -> None:
    status, headers, body = fetch(gunicorn_gthread.url + "/debug/profile/cpu?seconds=x")
    assert status == 400 and body == b'invalid value for "seconds" - must be a positive number\n'


def test_worker_sockets_are_private(gunicorn_gthread: Server) -> None:
    assert gunicorn_gthread.sockets.stat().st_mode & 0o777 == 0o700
    assert gunicorn_gthread.sockets.parent.stat().st_mode & 0o777 == 0o700
    socks = list(gunicorn_gthread.sockets.glob("*.sock"))
    assert {int(p.stem) for p in socks} == gunicorn_gthread.worker_pids()
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in socks)


@pytest.mark.go
def test_go_tool_pprof_gets_the_merged_profile(gunicorn_gthread: Server, go_pprof: Any) -> None:
    with loaded(gunicorn_gthread):
        tags = go_pprof("-tags", gunicorn_gthread.url + "/debug/profile/wall?seconds=2").stdout
    top = go_pprof("-top", gunicorn_gthread.url + "/debug/profile/threads").stdout
    pid_section = tags.split(" pid: ", 1)[1].split("\n\n", 1)[0]
    assert {int(line.rsplit(":", 1)[1]) for line in pid_section.splitlines()[1:]} == \
        gunicorn_gthread.worker_pids()
    assert "workers answered: 4 of 4" in top.splitlines()


def test_profkit_capture_says_how_many_workers_answered(
    uvicorn_2: Server, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cpu.pb.gz"
    with loaded(uvicorn_2):
        code = main(["capture", uvicorn_2.url, "--seconds", "2", "-o", str(out), "--top", "0"])
    assert code == 0
    assert "workers answered: 2 of 2\n" in capsys.readouterr().out
    assert pids_in(load(str(out))) == uvicorn_2.worker_pids()


def test_a_client_that_leaves_ends_every_workers_capture(gunicorn_gthread: Server) -> None:
    port = int(gunicorn_gthread.url.rsplit(":", 1)[1])
    socks = sorted(gunicorn_gthread.sockets.glob("*.sock"))
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"GET /debug/profile/cpu?seconds=25 HTTP/1.1\r\nHost: x\r\n\r\n")
        deadline = time.monotonic() + 10
        while not all(_capturing(p) for p in socks):
            assert time.monotonic() < deadline, "the workers were never asked"
            time.sleep(0.02)
    deadline = time.monotonic() + 8  # far less than the 25 s window
    while True:
        status, headers, _ = fetch(gunicorn_gthread.url + "/debug/profile/cpu?seconds=0.1")
        if status == 200 and headers["X-Profkit-Workers"] == "4/4":
            break
        assert time.monotonic() < deadline, "a worker kept capturing after the client left"


def _server_side_pid(server: Server, client: socket.socket) -> int:
    """The worker holding the server end of ``client``'s TCP connection (from /proc)."""
    port = client.getsockname()[1]
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
            inode = fields[9]
    assert inode is not None
    for pid in server.worker_pids():
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    raise AssertionError("no worker holds the connection")


def _capturing(sock_path: Path) -> bool:
    """Whether a coordinator is connected to the agent at ``sock_path`` (from /proc/net/unix)."""
    rows = [line.split() for line in Path("/proc/net/unix").read_text().splitlines()[1:]]
    return any(len(r) == 8 and r[7] == str(sock_path) and r[5] == "03" for r in rows)


def test_a_worker_killed_mid_capture_is_named(gunicorn_sync: Server) -> None:
    """Runs last in this module: it kills a worker (gunicorn then boots another)."""
    port = int(gunicorn_sync.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as client:
        client.sendall(b"GET /debug/profile/wall?seconds=3 HTTP/1.1\r\nHost: x\r\n"
                       b"Connection: close\r\n\r\n")
        deadline = time.monotonic() + 10
        while True:
            try:
                coordinator = _server_side_pid(gunicorn_sync, client)
                break
            except AssertionError:
                assert time.monotonic() < deadline
                time.sleep(0.02)
        victim = min(gunicorn_sync.worker_pids() - {coordinator})
        victim_sock = gunicorn_sync.sockets / f"{victim}.sock"
        while not _capturing(victim_sock):
            assert time.monotonic() < deadline, "the victim's agent was never asked"
            time.sleep(0.02)
        os.kill(victim, signal.SIGKILL)
        answer = b""
        client.settimeout(30)
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    prof = parse(body)
    assert workers_comment(prof) == f"workers answered: 3 of 4 (missing: pid {victim} (died during the capture))"
    assert victim not in pids_in(prof) and coordinator in pids_in(prof)
    # the dead worker's socket is stale now: skipped, named, then removed
    status, _, body = fetch(gunicorn_sync.url + "/debug/profile/threads")
    comment = workers_comment(parse(body))
    assert f"pid {victim} (not running)" in comment
    assert not victim_sock.exists()


def test_socket_dir_refuses_a_shared_or_linked_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from profkit.endpoints.worker_sockets import socket_dir

    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    made = socket_dir(4242)
    assert made == tmp_path / "profkit" / "4242" and made.stat().st_mode & 0o777 == 0o700
    made.chmod(0o755)  # someone else could now plant sockets: refused
    with pytest.raises(OSError, match="not a private directory"):
        socket_dir(4242)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "profkit" / "4243").symlink_to(elsewhere)
    with pytest.raises(OSError, match="not a private directory"):
        socket_dir(4243)
