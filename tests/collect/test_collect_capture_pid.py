"""``profkit capture --pid``: real py-spy against real Python processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from collect_helpers import by_label, cum_by_function

from profkit.model import check_valid, load

TARGET = """
import sys, threading, time

def spin_here():
    while True:
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass

def nap_here():
    while True:
        time.sleep(1)

threading.Thread(target=nap_here, name="napper", daemon=True).start()
print("ready", flush=True)
spin_here()
"""


def _pyspy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("py-spy is missing: it comes with profkit[capture] (make setup)")
    return found


def _start(argv: list, tmp_path: Path) -> subprocess.Popen:
    script = tmp_path / "spinner.py"
    script.write_text(TARGET)
    proc = subprocess.Popen([*argv, str(script)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


@pytest.fixture
def target(tmp_path: Path) -> Iterator[int]:
    _pyspy()
    proc = _start([sys.executable], tmp_path)
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


def _capture(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    return subprocess.run(
        [sys.executable, "-m", "profkit", "capture", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


@pytest.mark.slow
def test_cpu_capture_from_pid(target: int, tmp_path: Path) -> None:
    out = tmp_path / "cpu.pb.gz"
    proc = _capture("--pid", str(target), "--seconds", "1", "-o", str(out), "--top", "3")
    assert proc.returncode == 0, proc.stderr
    assert "spinner.spin_here" in proc.stdout  # the top table
    p = load(out)
    check_valid(p)
    assert [(t.type, t.unit) for t in p.sample_types] == [
        ("samples", "count"),
        ("cpu", "nanoseconds"),
    ]
    assert p.period == 10_000_000 and p.duration_nanos > 0
    cum = cum_by_function(p)
    assert cum["spinner.spin_here"] > 0.6 * p.total(1)
    threads = by_label(p, "thread_name")
    # py-spy's idle detection is a heuristic (on a loaded machine it lets some sleeping
    # samples through); the sleeping thread must still be far behind the spinning one
    assert threads.get("napper", 0) < 0.5 * threads["MainThread"]
    assert all("thread_id" in s.labels for s in p.samples)


@pytest.mark.slow
def test_wall_capture_includes_idle_threads(target: int, tmp_path: Path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "wall.pb.gz"
    proc = _capture("--pid", str(target), "--wall", "--seconds", "1", "-o", str(out), "--top", "0")
    assert proc.returncode == 0, proc.stderr
    p = load(out)
    assert p.sample_types[1].type == "wall"
    threads = by_label(p, "thread_name")
    # every sample sees both threads: the idle one gets as much wall time as the busy one
    assert threads["napper"] > 0.9 * threads["MainThread"] > 0
    top = go_pprof("-top", str(out)).stdout
    assert "Type: wall" in top and "spinner.nap_here" in top


def test_missing_pid_is_one_clear_line(tmp_path: Path) -> None:
    proc = _capture("--pid", "999999999", "-o", str(tmp_path / "x.pb.gz"))
    assert proc.returncode == 1
    assert proc.stderr.strip() == "profkit: no process with PID 999999999"
    assert not (tmp_path / "x.pb.gz").exists()


def test_not_python_is_one_clear_line(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        proc = _capture("--pid", str(sleeper.pid), "-o", str(tmp_path / "x.pb.gz"))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proc.returncode == 1
    assert f"PID {sleeper.pid} is not a Python process" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_url_and_pid_together_or_neither_are_rejected(tmp_path: Path) -> None:
    both = _capture("http://127.0.0.1:1", "--pid", "1", "-o", str(tmp_path / "x.pb.gz"))
    assert both.returncode == 1 and "either a URL or --pid" in both.stderr
    neither = _capture("-o", str(tmp_path / "x.pb.gz"))
    assert neither.returncode == 1 and "give a service URL or --pid" in neither.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv"
)
def test_ptrace_refusal_names_the_missing_permission(tmp_path: Path) -> None:
    """A target of another user, and no CAP_SYS_PTRACE: the message says what is missing."""
    _pyspy()
    system_python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    if system_python is None:
        pytest.skip("no system python3 readable by another user")
    shared = Path(tempfile.mkdtemp(prefix="profkit-ptrace-"))  # readable by uid 65534
    os.chmod(shared, 0o755)
    proc = _start(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", system_python], shared
    )
    try:
        env = dict(
            os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]
        )
        res = subprocess.run(
            [
                "setpriv",
                "--bounding-set",
                "-sys_ptrace",
                "--inh-caps",
                "-sys_ptrace",
                sys.executable,
                "-m",
                "profkit",
                "capture",
                "--pid",
                str(proc.pid),
                "--seconds",
                "1",
                "-o",
                str(tmp_path / "x.pb.gz"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(shared, ignore_errors=True)
    assert res.returncode == 1
    assert "ptrace not permitted" in res.stderr and "CAP_SYS_PTRACE" in res.stderr
    assert "uid 65534" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


WAITERS = """
import threading, time

gate = threading.Event()

def wait_for_work():
    gate.wait()

for name in ("ingest-worker", "flush-worker"):
    threading.Thread(target=wait_for_work, name=name, daemon=True).start()
print("ready", flush=True)
gate.wait()
"""


@pytest.fixture
def waiters(tmp_path: Path) -> Iterator[int]:
    _pyspy()
    script = tmp_path / "waiters.py"
    script.write_text(WAITERS)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc.pid
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.slow
def test_threads_capture_from_pid(waiters: int, tmp_path: Path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "threads.pb.gz"
    proc = _capture("--pid", str(waiters), "--type", "threads", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    p = load(out)
    check_valid(p)
    assert [(t.type, t.unit) for t in p.sample_types] == [("thread", "count")]
    by_name = {s.labels["thread_name"][0]: s for s in p.samples}
    assert {"MainThread", "ingest-worker", "flush-worker"} <= set(by_name)
    for name in ("ingest-worker", "flush-worker"):
        s = by_name[name]
        assert s.values == [1] and s.labels["thread_id"][0].isdigit()
        names = [loc.lines[0].function.name for loc in s.locations]
        assert "waiters.wait_for_work" in names and "threading.Event.wait" in names
    # the grouped text: both waiting workers on one stack, named
    assert "2 @\n# threads: flush-worker, ingest-worker\n" in proc.stdout
    assert "#\twaiters.wait_for_work\t" in proc.stdout
    top = go_pprof("-top", str(out)).stdout
    assert "Type: thread" in top and "waiters.wait_for_work" in top
    dump = _capture("--pid", str(waiters), "--type", "threads", "--text", "2", "-o", str(out))
    assert dump.returncode == 0, dump.stderr
    assert '"ingest-worker":\n' in dump.stdout and "waiters.wait_for_work()\n" in dump.stdout


def test_threads_capture_errors_are_one_line(tmp_path: Path) -> None:
    out = str(tmp_path / "x.pb.gz")
    proc = _capture("--pid", "999999999", "--type", "threads", "-o", out)
    assert proc.returncode == 1 and proc.stderr.strip() == "profkit: no process with PID 999999999"
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        proc = _capture("--pid", str(sleeper.pid), "--type", "threads", "-o", out)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert proc.returncode == 1 and f"PID {sleeper.pid} is not a Python process" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.pb.gz").exists()


@pytest.mark.parametrize("seconds", ["0.3", "2.5", "0"])
def test_pid_seconds_must_be_whole(seconds: str, tmp_path: Path) -> None:
    proc = _capture("--pid", str(os.getpid()), "--seconds", seconds, "-o", str(tmp_path / "x"))
    assert proc.returncode == 1
    assert "--seconds must be a whole number of seconds" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


SHORT_LIVED = """
import time
def spin_here():
    end = time.monotonic() + 3
    while time.monotonic() < end:
        pass
print("ready", flush=True)
spin_here()
"""


@pytest.mark.slow
def test_target_exiting_partway_is_reported_and_c_code_is_main(tmp_path: Path) -> None:
    _pyspy()
    proc = subprocess.Popen([sys.executable, "-c", SHORT_LIVED], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        out = tmp_path / "cpu.pb.gz"
        res = _capture("--pid", str(proc.pid), "--seconds", "30", "-o", str(out), "--top", "0")
    finally:
        proc.kill()
        proc.wait()
    assert res.returncode == 0, res.stderr
    warning = [ln for ln in res.stderr.splitlines() if "exited after" in ln]
    assert len(warning) == 1 and "the profile covers that time only" in warning[0]
    p = load(out)
    assert 0 < p.duration_nanos < 20e9  # the time sampled (about 3 s), not the 30 s asked
    assert f"for {p.duration_nanos / 1e9:.2f} s" in p.comments[0]
    names = {loc.lines[0].function.name for s in p.samples for loc in s.locations}
    assert "__main__.spin_here" in names and "__main__.<module>" in names, names
    assert not any(n.startswith("string.") for n in names)
