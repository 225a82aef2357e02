"""``profkit capture --pid MASTER``: one profile of a real gunicorn master and its 3 sync workers.

The server starts once for the module and is driven over loopback by client threads
requesting ``/spin`` (CPU in ``workers_app.spin_in_worker``). The worker pids the
profile must name are the ones gunicorn logs ("Booting worker with pid"), not ones
profkit found. py-spy (``profkit[capture]``) must be installed: a missing py-spy fails.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Set

import pytest
from endpoint_servers import ROOT, fetch, free_port, wait_until_serving

from profkit.model import Profile, load

APPS = Path(__file__).parent / "apps"
WORKERS = 3
BOOTED = re.compile(rb"Booting worker with pid: (\d+)")
pytestmark = pytest.mark.slow


@dataclass
class Gunicorn:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> Set[int]:
        """The live workers among those gunicorn logged."""
        logged = {int(m) for m in BOOTED.findall(self.log.read_bytes())}
        return {p for p in logged if Path(f"/proc/{p}").exists()
                and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"}


@pytest.fixture(scope="module")
def gunicorn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    if not (shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))):
        pytest.fail("py-spy is missing: it comes with profkit[capture] (make setup)")
    tmp = tmp_path_factory.mktemp("gunicorn_pid")
    runtime = tmp / "run"
    runtime.mkdir(mode=0o700)  # the workers' profkit sockets stay private to this test
    log = tmp / "server.log"
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "-k", "sync", "-w", str(WORKERS),
           "-b", f"127.0.0.1:{port}", "--timeout", "60", "--log-level", "info",
           "workers_app:wsgi_application"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_RUNTIME_DIR=str(runtime))
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=APPS)
    server = Gunicorn(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_until_serving(server.url + "/pid", proc)
        deadline = time.monotonic() + 30
        while len(server.worker_pids()) < WORKERS:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def loaded(url: str, clients: int = 4) -> Iterator[None]:
    """Keep ``clients`` threads requesting ``/spin`` while the block runs."""
    stop = threading.Event()
    served: List[int] = []

    def client() -> None:
        for _ in range(5000):  # bounded: a capture of 2-3 s needs far fewer
            if stop.is_set():
                return
            # a killed worker drops its connection, at times in the middle of an answer
            with contextlib.suppress(OSError, http.client.HTTPException):
                if fetch(url + "/spin", timeout=10)[0] == 200:
                    served.append(1)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    try:
        yield
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert served, "the load generator was never served"


def capture(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.Popen([sys.executable, "-m", "profkit", "capture", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert err == ""  # a child that exits is a note on stdout, not a warning
    return out


def by_pid(prof: Profile) -> Dict[int, int]:
    """Sampled value per ``pid`` label."""
    out: Dict[int, int] = {}
    for s in prof.samples:
        pid = int(s.labels["pid"][0])
        out[pid] = out.get(pid, 0) + s.values[-1]
    return out


def check_worker_numbers(prof: Profile, master: int) -> Dict[int, str]:
    """Each child pid has one ``worker`` number, 1..N in pid order; the master has none."""
    numbers: Dict[int, Set[str]] = {}
    for s in prof.samples:
        numbers.setdefault(int(s.labels["pid"][0]), set()).update(s.labels.get("worker", []))
    assert numbers.pop(master, set()) == set()
    assert all(len(n) == 1 for n in numbers.values()), numbers
    got = {pid: n.pop() for pid, n in numbers.items()}
    assert sorted(got, key=lambda p: int(got[p])) == sorted(got)
    return got


def test_wall_capture_of_the_master_has_every_worker(gunicorn: Gunicorn, tmp_path: Path,
                                                      go_pprof) -> None:  # type: ignore[no-untyped-def]
    master, workers = gunicorn.proc.pid, gunicorn.worker_pids()
    out = tmp_path / "wall.pb.gz"
    with loaded(gunicorn.url):
        stdout = finish(capture("--pid", str(master), "--wall", "--seconds", "2", "-o", str(out),
                                "--top", "0"))
    assert f"processes sampled: {WORKERS + 1} (PID {master} and {WORKERS} workers)" in stdout
    prof = load(out)
    values = by_pid(prof)
    assert set(values) == workers | {master}  # wall: every thread of every process
    # each process was sampled for the whole window (2 s at 100 Hz per thread, at least)
    assert all(v >= 1.5e9 for v in values.values()), values
    assert set(check_worker_numbers(prof, master).values()) == {str(i) for i in range(1, WORKERS + 1)}
    assert all("thread_id" in s.labels and "thread_name" in s.labels for s in prof.samples)
    tags = go_pprof("-tags", str(out)).stdout
    assert "pid:" in tags and "worker:" in tags and f"{master}" in tags


def test_cpu_capture_of_the_master_finds_the_load_in_the_workers(gunicorn: Gunicorn,
                                                                  tmp_path: Path) -> None:
    master, workers = gunicorn.proc.pid, gunicorn.worker_pids()
    out = tmp_path / "cpu.pb.gz"
    with loaded(gunicorn.url):
        stdout = finish(capture("--pid", str(master), "--seconds", "2", "-o", str(out),
                                "--top", "5"))
    assert "workers_app.spin_in_worker" in stdout  # the merged top table
    prof = load(out)
    assert set(by_pid(prof)) <= workers | {master}
    spin_pids = {int(s.labels["pid"][0]) for s in prof.samples
                 if any(ln.function.name == "workers_app.spin_in_worker"
                        for loc in s.locations for ln in loc.lines)}
    assert len(spin_pids) >= 2 and spin_pids <= workers
    check_worker_numbers(prof, master)


def test_no_children_samples_the_master_alone(gunicorn: Gunicorn, tmp_path: Path) -> None:
    out = tmp_path / "master.pb.gz"
    with loaded(gunicorn.url):
        stdout = finish(capture("--pid", str(gunicorn.proc.pid), "--wall", "--no-children",
                                "--seconds", "1", "-o", str(out), "--top", "0"))
    assert "processes sampled" not in stdout
    prof = load(out)
    assert prof.samples and not any("pid" in s.labels or "worker" in s.labels for s in prof.samples)
    names = {ln.function.name for s in prof.samples for loc in s.locations for ln in loc.lines}
    assert any(n.startswith("gunicorn.arbiter.") for n in names)
    assert "workers_app.spin_in_worker" not in names


def _pyspy_started(parent: int, timeout: float = 30) -> None:
    """Wait until ``parent`` has a py-spy child (the capture window has begun)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in os.listdir("/proc"):
            with contextlib.suppress(OSError, IndexError):
                stat = Path(f"/proc/{entry}/stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == parent and "py-spy" in stat:
                    return
        time.sleep(0.02)
    raise AssertionError("py-spy did not start")


def test_a_worker_killed_mid_capture_is_named_and_the_rest_arrive(gunicorn: Gunicorn,
                                                                   tmp_path: Path) -> None:
    master, workers = gunicorn.proc.pid, gunicorn.worker_pids()
    victim = min(workers)
    out = tmp_path / "wall.pb.gz"
    with loaded(gunicorn.url):
        proc = capture("--pid", str(master), "--wall", "--seconds", "3", "-o", str(out), "--top", "0")
        _pyspy_started(proc.pid)
        os.kill(victim, signal.SIGKILL)
        stdout = finish(proc)
    assert re.search(rf"pid {victim} \(worker \d\) exited during the capture", stdout), stdout
    prof = load(out)
    assert any(re.match(rf"pid {victim} \(worker \d\) exited during the capture", c) for c in prof.comments)
    survivors = workers - {victim}
    values = by_pid(prof)
    assert survivors | {master} <= set(values)
    assert all(values[p] >= 2e9 for p in survivors)  # the whole window, despite the death
