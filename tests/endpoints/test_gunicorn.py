"""The WSGI middleware under gunicorn (gthread): capture while serving; a vanished client ends it."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, List

from endpoint_servers import fetch, wait_for_capture

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
