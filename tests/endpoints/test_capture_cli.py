"""``profkit capture URL`` against real servers: success, server errors, bad bodies, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable

import pytest
from endpoint_servers import ROOT, WsgiServer, fetch, free_port

from profkit.cli import main
from profkit.cli.capture_url import build_target
from profkit.endpoints import ProfileMiddleware
from profkit.errors import InputError
from profkit.model import load


def plain_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"].startswith("/slow"):
        time.sleep(3)
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<!DOCTYPE html><html>not a profile</html>"]


def test_build_target_accepts_base_prefix_and_full_urls() -> None:
    t = build_target("http://127.0.0.1:8000", None, 10)
    assert (t.url, t.kind, t.timeout) == ("http://127.0.0.1:8000/debug/profile/cpu?seconds=10", "cpu", 20)
    t = build_target("127.0.0.1:8000/", "heap", None)
    assert (t.url, t.seconds, t.timeout) == ("http://127.0.0.1:8000/debug/profile/heap", None, 65)
    t = build_target("http://h/debug/pprof/profile?seconds=7", None, None)
    assert (t.url, t.kind, t.seconds) == ("http://h/debug/pprof/profile?seconds=7", "cpu", 7)
    t = build_target("http://h/ops/prof/", "mutex", 5)
    assert t.url == "http://h/ops/prof/mutex?seconds=5"
    t = build_target("http://h/debug/profile/goroutine", "threads", None)
    assert t.kind == "threads"
    with pytest.raises(InputError):
        build_target("http://h/debug/profile/heap", "cpu", None)
    with pytest.raises(InputError):
        build_target("ftp://h/", None, None)
    with pytest.raises(InputError):
        build_target("http://h", "wall", -2)
    # the default prefix ends in "profile", Go's CPU alias: it is still a prefix
    t = build_target("http://h/debug/profile", None, 1)
    assert (t.url, t.kind) == ("http://h/debug/profile/cpu?seconds=1", "cpu")
    t = build_target("http://h/debug/profile/", "heap", None)
    assert (t.url, t.kind) == ("http://h/debug/profile/heap", "heap")
    t = build_target("http://h/ops/profile/", "mutex", None)  # a trailing slash: a prefix
    assert t.url == "http://h/ops/profile/mutex"
    t = build_target("http://h/debug/profile/profile", None, 2)  # Go's CPU alias as endpoint
    assert (t.url, t.kind) == ("http://h/debug/profile/profile?seconds=2", "cpu")
    t = build_target("http://h/ops/profile", None, 2)  # custom path ending in a name: endpoint
    assert t.url == "http://h/ops/profile?seconds=2"


def test_build_target_formats_and_checks_numbers() -> None:
    t = build_target("http://h", "heap", 1000000)
    assert t.url == "http://h/debug/profile/heap?seconds=1000000"  # not 1e%2B06
    assert build_target("http://h", "cpu", 1.5).url.endswith("/cpu?seconds=1.5")
    assert build_target("http://h", "wall", 2.0).url.endswith("/wall?seconds=2")
    assert build_target("http://h", None, 3, 0.5).timeout == 0.5
    for kind, seconds, timeout, message in [
        ("heap", 1.5, None, "a heap delta needs a whole number of seconds"),
        ("cpu", float("inf"), None, "--seconds must be a positive number"),
        ("cpu", float("nan"), None, "--seconds must be a positive number"),
        ("cpu", 1e300, None, "--seconds 1e+300 is too long"),
        ("cpu", 1, -1.0, "--timeout must be a positive number"),
        ("cpu", 1, 0.0, "--timeout must be a positive number"),
        ("cpu", 1, float("inf"), "--timeout must be a positive number"),
    ]:
        with pytest.raises(InputError, match=message.replace("+", r"\+")) as info:
            build_target("http://h", kind, seconds, timeout)
        assert info.value.exit_code == 2


@pytest.mark.parametrize("args", [
    ["--seconds", "inf"], ["--seconds", "1.5", "--type", "heap"], ["--timeout", "-1"],
    ["--timeout", "0"], ["--seconds", "1e999"],
])
def test_capture_rejects_bad_numbers_in_one_line(args: list[str], tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.pb.gz"
    code = main(["capture", f"http://127.0.0.1:{free_port()}", *args, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err
    assert not out.exists()


def test_capture_from_the_default_prefix(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path) -> None:
    middleware = ProfileMiddleware(plain_app, enable=["heap"])
    with wsgi_server(middleware) as srv:
        out = tmp_path / "cpu.pb.gz"
        assert main(["capture", srv.url + "/debug/profile", "--seconds", "1", "-o", str(out),
                     "--top", "0"]) == 0
        assert load(out).period_type.type == "cpu"  # type: ignore[union-attr]
        out = tmp_path / "heap.pb.gz"
        assert main(["capture", srv.url + "/debug/profile/", "--type", "heap", "-o", str(out),
                     "--top", "0"]) == 0
        assert "inuse_space/bytes" in [str(st) for st in load(out).sample_types]
    middleware.close()


def test_capture_writes_a_profile(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cpu.pb.gz"
    with wsgi_server(ProfileMiddleware(plain_app)) as srv:
        code = main(["capture", srv.url, "--seconds", "1", "-o", str(out), "--top", "0"])
    assert code == 0
    assert load(out).period_type is not None
    assert f"wrote {out}" in capsys.readouterr().out


def test_capture_threads_from_a_full_url(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path) -> None:
    out = tmp_path / "t.pb.gz"
    with wsgi_server(ProfileMiddleware(plain_app)) as srv:
        code = main(["capture", srv.url + "/debug/profile/goroutine", "-o", str(out), "--top", "0"])
    assert code == 0
    assert str(load(out).sample_types[0]) == "thread/count"


def run_failing(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(["capture", *args])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_capture_reports_server_errors(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.pb.gz"
    with wsgi_server(ProfileMiddleware(plain_app)) as srv:
        err = run_failing([srv.url, "--type", "mutex", "-o", str(out)], capsys)
        assert err.startswith("profkit: server answered 501 Not Implemented: lock profiling is not enabled")
        err = run_failing([srv.url, "--seconds", "99999", "-o", str(out)], capsys)
        assert 'server answered 400 Bad Request: "seconds" is 99999' in err
        err = run_failing([srv.url + "/", "--type", "heap", "--seconds", "1", "-o", str(out)], capsys)
        assert "server answered 501" in err
    with wsgi_server(plain_app) as srv:  # no middleware: the app's HTML comes back
        err = run_failing([srv.url, "--seconds", "1", "-o", str(out)], capsys)
        assert "is not a profile (Content-Type text/html" in err
        err = run_failing([srv.url + "/slow", "--type", "cpu", "--timeout", "1", "-o", str(out)], capsys)
        assert "no complete answer" in err
    assert not out.exists()


def test_capture_reports_refused_connections(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    err = run_failing([f"http://127.0.0.1:{port}", "--seconds", "1", "-o", str(tmp_path / "x")], capsys)
    assert err == f"profkit: cannot connect to 127.0.0.1:{port}: connection refused (is the service running?)"


def test_capture_sends_the_token(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "t.pb.gz"
    with wsgi_server(ProfileMiddleware(plain_app, token="let-me-in")) as srv:
        err = run_failing([srv.url, "--type", "threads", "-o", str(out)], capsys)
        assert "401 Unauthorized: unauthorized: send Authorization: Bearer <token>" in err
        monkeypatch.setenv("PROFKIT_TOKEN", "let-me-in")
        assert main(["capture", srv.url, "--type", "threads", "-o", str(out), "--top", "0"]) == 0
    assert out.exists()


def test_ctrl_c_leaves_no_partial_file(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path) -> None:
    out = tmp_path / "cpu.pb.gz"
    with wsgi_server(ProfileMiddleware(plain_app)) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "profkit", "capture", srv.url, "--seconds", "20", "-o", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        deadline = time.monotonic() + 20
        while b"ProfileEndpoints._timed" not in fetch(srv.url + "/debug/profile/threads?debug=2")[2]:
            assert time.monotonic() < deadline and proc.poll() is None  # until it is capturing
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
        # the server noticed the client went away and ended its 20 s capture early
        deadline = time.monotonic() + 5
        while fetch(srv.url + "/debug/profile/cpu?seconds=0.1")[0] != 200:
            assert time.monotonic() < deadline, "capture kept running after the client left"
    assert proc.returncode == 130
    assert b"interrupted" in err and b"Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_on_a_terminal(wsgi_server: Callable[[Any], WsgiServer], tmp_path: Path) -> None:
    import pty

    out = tmp_path / "cpu.pb.gz"
    main_fd, child_fd = pty.openpty()
    with wsgi_server(ProfileMiddleware(plain_app)) as srv:
        proc = subprocess.Popen(
            [sys.executable, "-m", "profkit", "capture", srv.url, "--seconds", "1.5", "-o", str(out),
             "--top", "0"],
            stdout=subprocess.PIPE, stderr=child_fd,
            env=dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="100", TERM="xterm"),
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
        proc.wait(30)
    os.close(main_fd)
    assert proc.returncode == 0
    assert b"capturing cpu" in seen and "━".encode() in seen  # rich's bar, drawn on the tty
    assert out.exists()
