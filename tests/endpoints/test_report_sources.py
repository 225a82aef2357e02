"""URLs and PIDs as report sources: ``profkit top URL`` fetches as ``go tool pprof URL``.

Over a real werkzeug server with the middleware: the same URL given to the real
``go tool pprof -top`` and to ``profkit top`` prints the same table (the
point-in-time ``threadcreate`` profile, so both see the same samples); a CPU URL
honours ``-seconds``; unreachable and malformed URLs fail in one line. ``pid:N``
samples a running Python process with py-spy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List

import pytest
from endpoint_servers import WsgiServer, fetch, free_port

from profkit.cli import main
from profkit.endpoints import ProfileMiddleware

_STOP = threading.Event()


def _burn_in_named_function() -> None:
    while not _STOP.is_set():
        sum(i * i for i in range(20_000))


def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture(scope="module")
def server() -> Iterator[WsgiServer]:
    burner = threading.Thread(target=_burn_in_named_function, name="burner", daemon=True)
    burner.start()
    try:
        with WsgiServer(ProfileMiddleware(app)) as srv:
            yield srv
    finally:
        _STOP.set()
        burner.join()


def _request_threads_ended(timeout: float = 30) -> None:
    """Wait until no request thread of the in-process server is alive: threadcreate shows the
    creation stacks of live threads, so an earlier request still finishing adds a row to one
    fetch and not to the other (seen in CI: 2 vs 1 on process_request)."""
    deadline = time.monotonic() + timeout
    while any("process_request" in t.name for t in threading.enumerate()):
        assert time.monotonic() < deadline, [t.name for t in threading.enumerate()]
        time.sleep(0.01)


def _without_time(text: str) -> List[str]:
    return [line for line in text.splitlines() if not line.startswith("Time:")]


@pytest.mark.go
def test_url_report_matches_go_tool_pprof_on_the_same_url(  # type: ignore[no-untyped-def]
    server: WsgiServer, go_pprof, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server.url + "/debug/profile/threadcreate"
    assert fetch(url)[0] == 200  # the first snapshot starts recording thread creation
    _request_threads_ended()
    expected = go_pprof("-top", url).stdout
    _request_threads_ended()
    # In a subprocess, as go runs: a fetch from this process would add its own thread.
    proc = subprocess.run([sys.executable, "-m", "profkit", "top", url], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = proc.stdout
    assert "Type: threadcreate" in got
    assert _without_time(got) == _without_time(expected)


def test_cpu_url_with_seconds_flag(server: WsgiServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "-seconds=1", "-focus=_burn_in", server.url + "/debug/profile/profile"]) == 0
    out = capsys.readouterr().out
    assert "Type: cpu" in out and "_burn_in_named_function" in out
    assert "Duration: 1" in out  # one second, not the default 30


def test_url_diff_base_and_file_mix(server: WsgiServer, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "tc.pb.gz"
    assert main(["top", "-o", str(saved), server.url + "/debug/profile/threadcreate"]) == 0
    capsys.readouterr()
    assert main(["top", "-diff_base", str(saved), server.url + "/debug/profile/threadcreate"]) == 0
    assert "Type: threadcreate" in capsys.readouterr().out


@pytest.mark.parametrize("url,code,message", [
    (f"http://127.0.0.1:{free_port()}/debug/profile/heap", 1, "cannot connect to 127.0.0.1:"),
    ("http://127.0.0.1:1/debug/profile/nosuch?seconds=x", 2, "not a number"),
    ("https://", 2, "not an http(s) URL"),
])
def test_bad_urls_fail_in_one_line(capsys: pytest.CaptureFixture[str], url: str, code: int,
                                   message: str) -> None:
    assert main(["top", url]) == code
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_bad_pid_source_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "pid:abc"]) == 1
    assert capsys.readouterr().err == "profkit: pid:abc: give a process id, as pid:1234\n"


SPINNER = """
import time
def spin_for_pid_source():
    while True:
        end = time.thread_time() + 0.01
        while time.thread_time() < end:
            pass
print("ready", flush=True)
spin_for_pid_source()
"""


@pytest.mark.slow
def test_pid_source_samples_the_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("py-spy", path=os.path.dirname(sys.executable) + os.pathsep
                    + os.environ.get("PATH", "")) is None:
        pytest.fail("py-spy is missing: it comes with profkit[capture] (make setup)")
    script = tmp_path / "spinner.py"
    script.write_text(SPINNER)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        assert main(["top", "-seconds=1", "-n", "3", f"pid:{proc.pid}"]) == 0
    finally:
        proc.kill()
        proc.wait()
    out = capsys.readouterr().out
    assert "Type: cpu" in out and "spinner.spin_for_pid_source" in out


def test_url_report_draws_captures_progress_bar_on_a_terminal(server: WsgiServer) -> None:
    import pty

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "profkit", "top", "-seconds=1.5", "-n", "2",
         server.url + "/debug/profile/profile"],
        stdout=subprocess.PIPE, stderr=child_fd,
        env=dict(os.environ, COLUMNS="100", TERM="xterm"),
    )
    os.close(child_fd)
    seen = b""
    while True:
        try:
            chunk = os.read(main_fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"capturing cpu" in seen and "━".encode() in seen  # rich's bar, drawn on the tty
    assert b"Type: cpu" in out and "━".encode() not in out  # the report itself stays clean
