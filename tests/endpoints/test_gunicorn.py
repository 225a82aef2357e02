"""The WSGI middleware under gunicorn (gthread): capture while serving; a vanished client ends it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, List

from endpoint_servers import ROOT, fetch, free_port, wait_for_capture, wait_until_serving

from profkit.model import parse


def test_gunicorn_capture_while_serving(gunicorn_app: Callable[[str], str]) -> None:
    url = gunicorn_app("plain_wsgi:application")
    bodies: List[bytes] = []
    worker = threading.Thread(target=lambda: bodies.append(fetch(url + "/debug/profile/cpu?seconds=2")[2]))
    worker.start()
    wait_for_capture(url)
    served = 0
    while worker.is_alive() and served < 15:
        assert fetch(url + "/spin", timeout=5)[0] == 200
        served += 1
    worker.join()
    assert served >= 10
    prof = parse(bodies[0])
    idx = prof.sample_index("cpu")
    spin = sum(s.values[idx] for s in prof.samples if s.labels.get("route") == ["/spin"])
    assert spin > 0


def test_gunicorn_capture_ends_when_the_client_leaves(gunicorn_app: Callable[[str], str]) -> None:
    url = gunicorn_app("plain_wsgi:application")
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /debug/profile/cpu?seconds=25 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for_capture(url)
    deadline = time.monotonic() + 5
    while fetch(url + "/debug/profile/cpu?seconds=0.1")[0] != 200:
        assert time.monotonic() < deadline, "capture kept running after the client left"


def test_head_gets_no_body_and_gunicorn_no_warning(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "-w", "1", "-b", f"127.0.0.1:{port}",
           "--chdir", str(Path(__file__).parent / "apps"), "plain_wsgi:application"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        try:
            wait_until_serving(f"http://127.0.0.1:{port}/", proc)
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b"HEAD /debug/profile/cmdline HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        finally:
            proc.terminate()
            proc.wait(10)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405") and b"Allow: GET" in head
    assert body == b""
    assert "no-body response" not in log.read_text()  # gunicorn: "WSGI app sent body bytes ..."
