"""``profkit capture`` against hostile servers on loopback (a real http.server thread):
a body trickled a byte at a time, headers trickled, a gzip bomb. Each answers with
one line, exit 1, no file, and well before the per-read timeout alone would.
"""

from __future__ import annotations

import gzip
import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Iterator

import pytest

_BOMB = gzip.compress(b"\0" * (4 << 20), 9)


class _Hostile(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _trickle(self, data: bytes) -> None:
        for i in range(len(data)):
            self.wfile.write(data[i:i + 1])
            self.wfile.flush()
            time.sleep(0.25)  # the hostile server's pace, not a wait for the test

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        try:
            if self.path.startswith("/body/"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", "1000")
                self.end_headers()
                self._trickle(b"\x1f" * 1000)
            elif self.path.startswith("/headers/"):
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self._trickle(b"X-Slow: " + b"a" * 1000)
            elif self.path.startswith("/bomb/"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(_BOMB)))
                self.end_headers()
                self.wfile.write(_BOMB)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up: that is the point


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hostile)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def capture(url: str, out: Path, *args: str, env: dict | None = None
            ) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "profkit", "capture", url, "-o", str(out), "--no-progress", *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )
    return proc, time.monotonic() - start


def assert_one_line(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("capturing ")]
    assert proc.returncode == 1, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("profkit: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]


def test_trickled_body_is_cut_off_at_the_deadline(server: str, tmp_path: Path) -> None:
    out = tmp_path / "x.pb.gz"
    # each byte comes within the 2 s per-read timeout: only the overall deadline stops it
    proc, took = capture(server + "/body/heap", out, "--timeout", "2")
    assert_one_line(proc, "no complete answer", "within 2 s")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    assert took < 15  # 250 s of trickle without the deadline


def test_deadline_includes_the_capture_duration(server: str, tmp_path: Path) -> None:
    out = tmp_path / "x.pb.gz"
    proc, took = capture(server + "/body/profile", out, "--seconds", "1", "--timeout", "1")
    assert_one_line(proc, "within 2 s")
    assert not out.exists()


def test_trickled_headers_are_cut_off_at_the_deadline(server: str, tmp_path: Path) -> None:
    out = tmp_path / "x.pb.gz"
    proc, took = capture(server + "/headers/heap", out, "--timeout", "2")
    assert_one_line(proc, "no complete answer", "within 2 s")
    assert not out.exists()
    assert took < 15


def test_gzip_bomb_over_http_names_the_cap(server: str, tmp_path: Path) -> None:
    out = tmp_path / "x.pb.gz"
    proc, _ = capture(server + "/bomb/heap", out, env={"PROFKIT_MAX_PROFILE_BYTES": "1000000"})
    assert_one_line(proc, "inflates past 1000000 bytes", "PROFKIT_MAX_PROFILE_BYTES")
    assert "not a profile" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("path,args,words", [
    ("/body/heap", ["--timeout", "2"], ["no complete answer", "within 2 s"]),
    ("/bomb/heap", [], ["inflates past 1000000 bytes", "PROFKIT_MAX_PROFILE_BYTES"]),
])
def test_report_url_inputs_have_the_same_bounds(server: str, path: str, args: list[str],
                                                words: list[str]) -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "profkit", "top", server + path, *args],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "PROFKIT_MAX_PROFILE_BYTES": "1000000"},
    )
    assert_one_line(proc, *words)
    assert proc.stdout == ""
    assert time.monotonic() - start < 15
