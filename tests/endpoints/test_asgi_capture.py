"""ASGI under uvicorn: the loop keeps serving during a capture; samples carry route labels."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, List

from endpoint_servers import fetch, wait_for_capture

from profkit.model import parse


def test_uvicorn_cpu_capture_while_serving(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application")
    result: List[bytes] = []

    def capture() -> None:
        status, _, body = fetch(url + "/debug/profile/cpu?seconds=2")
        assert status == 200
        result.append(body)

    worker = threading.Thread(target=capture)
    worker.start()
    wait_for_capture(url)
    latencies = []
    while worker.is_alive() and len(latencies) < 60:
        t0 = time.perf_counter()
        assert fetch(url + "/spin?ms=20", timeout=5)[0] == 200
        latencies.append(time.perf_counter() - t0)
    worker.join()
    assert len(latencies) >= 10  # the loop answered while the capture waited in its thread
    prof = parse(result[0])
    idx = prof.sample_index("cpu")
    spin = sum(s.values[idx] for s in prof.samples if s.labels.get("route") == ["/spin"])
    assert spin > 0.5 * prof.total(idx)
    assert all(s.labels.get("method") == ["GET"] for s in prof.samples if "route" in s.labels)


def test_uvicorn_concurrent_captures(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application")
    statuses: List[int] = []

    def capture() -> None:
        statuses.append(fetch(url + "/debug/profile/profile?seconds=3")[0])

    threads = [threading.Thread(target=capture) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 500, 500]
    assert fetch(url + "/debug/profile/threads?debug=2")[0] == 200


def test_uvicorn_capture_ends_when_the_client_leaves(uvicorn_app: Callable[..., str]) -> None:
    url = uvicorn_app("plain_asgi:application")
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"GET /debug/profile/wall?seconds=20 HTTP/1.1\r\nHost: x\r\n\r\n")
        wait_for_capture(url)
    deadline = time.monotonic() + 5
    while fetch(url + "/debug/profile/cpu?seconds=0.1")[0] != 200:
        assert time.monotonic() < deadline, "capture kept running after the client left"
