"""CPU/wall/thread profiles from real servers: labels, single flight, serving during a capture."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, List
from urllib.parse import parse_qs

from endpoint_servers import WsgiServer, fetch, wait_for_capture

from profkit.endpoints import ProfileMiddleware
from profkit.model import Profile, parse


def spin_for(seconds: float) -> int:
    end = time.perf_counter() + seconds
    n = 0
    while time.perf_counter() < end:
        n += 1
    return n


def busy_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ["PATH_INFO"].startswith("/spin"):
        ms = float(parse_qs(environ.get("QUERY_STRING", "")).get("ms", ["40"])[0])
        spin_for(ms / 1000)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def labelled_cpu(p: Profile, **want: str) -> int:
    idx = p.sample_index("cpu")
    return sum(
        s.values[idx] for s in p.samples if all(s.labels.get(k) == [v] for k, v in want.items())
    )


class Load:
    """Request ``url`` from ``workers`` threads until stopped; keeps latencies."""

    def __init__(self, url: str, workers: int = 2) -> None:
        self.url = url
        self.stop = threading.Event()
        self.latencies: List[float] = []
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(workers)]

    def _run(self) -> None:
        while not self.stop.is_set():
            t0 = time.perf_counter()
            assert fetch(self.url)[0] == 200
            self.latencies.append(time.perf_counter() - t0)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def test_cpu_profile_labels_samples_by_route(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        with Load(srv.url + "/spin?ms=30"):
            status, headers, body = fetch(srv.url + "/debug/profile/profile?seconds=2")
        assert status == 200
        assert headers["Content-Type"] == "application/octet-stream"
        assert headers["Content-Disposition"] == 'attachment; filename="profile.pb.gz"'
        prof = parse(body)
        assert prof.period_type is not None and prof.period_type.type == "cpu"
        total = prof.total(prof.sample_index("cpu"))
        spin = labelled_cpu(prof, route="/spin", method="GET")
        assert total > 0 and spin > 0.5 * total
        names = {ln.function.name for loc in prof.locations for ln in loc.lines}
        assert any(n.endswith("spin_for") for n in names)


def test_one_cpu_capture_at_a_time(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        urls = [srv.url + "/debug/profile/cpu?seconds=2", srv.url + "/debug/profile/wall?seconds=2"]
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(fetch, urls[0])
            wait_for_capture(srv.url)  # the second must be refused, not queued
            t0 = time.monotonic()
            status, headers, body = pool.submit(fetch, urls[1]).result()
            refused_after = time.monotonic() - t0
            assert first.result()[0] == 200
        assert status == 500 and headers["X-Go-Pprof"] == "1"
        assert body == b"Could not enable wall profiling: cpu profiling already in use\n"
        assert refused_after < 1.0
        # once the first has finished, a new capture works again
        assert fetch(srv.url + "/debug/profile/wall?seconds=0.3")[0] == 200


def test_busy_message_names_the_running_wall_capture(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(fetch, srv.url + "/debug/profile/wall?seconds=2")
            wait_for_capture(srv.url)
            status, headers, body = fetch(srv.url + "/debug/profile/profile?seconds=1")
            assert first.result()[0] == 200
    assert (status, headers["X-Go-Pprof"]) == (500, "1")
    assert body == b"Could not enable CPU profiling: wall profiling already in use\n"


def test_one_delta_at_a_time_and_the_app_keeps_serving(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(fetch, srv.url + "/debug/profile/threads?seconds=3")
            wait_for_capture(srv.url, marker=b"ProfileEndpoints._delta_locked")
            t0 = time.monotonic()
            status, headers, body = fetch(srv.url + "/debug/profile/goroutine?seconds=1")
            refused_after = time.monotonic() - t0
            assert (status, headers["X-Go-Pprof"]) == (500, "1")
            assert body == (b"Could not start goroutine delta profile: threads?seconds=3 is already "
                            b"in progress (one delta profile at a time)\n")
            assert refused_after < 1.0  # refused at once, not queued behind the first
            assert fetch(srv.url + "/hello", timeout=5)[0] == 200
            assert fetch(srv.url + "/debug/profile/goroutine")[0] == 200  # snapshots still work
            assert not first.done()  # all of the above happened while the delta waited
            status, headers, _ = first.result()
        assert (status, headers["Content-Disposition"]) == (200, 'attachment; filename="threads-delta.pb.gz"')
        assert fetch(srv.url + "/debug/profile/threadcreate?seconds=1")[0] == 200  # free again


def test_app_keeps_serving_during_a_capture(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        done = threading.Event()

        def capture() -> None:
            assert fetch(srv.url + "/debug/profile/cpu?seconds=3")[0] == 200
            done.set()

        worker = threading.Thread(target=capture)
        worker.start()
        wait_for_capture(srv.url)
        served = 0
        while not done.is_set() and served < 20:
            assert fetch(srv.url + "/hello", timeout=5)[0] == 200
            served += 1
        assert served == 20 and not done.is_set()  # all answered while the capture ran
        worker.join()


def test_threads_profile_and_text_dumps(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(busy_app)) as srv:
        status, headers, body = fetch(srv.url + "/debug/profile/goroutine")
        assert status == 200 and headers["Content-Disposition"] == 'attachment; filename="goroutine.pb.gz"'
        prof = parse(body)
        assert [str(st) for st in prof.sample_types] == ["thread/count"]
        assert prof.total(0) >= 2  # the server thread and the one handling this request
        status, headers, grouped = fetch(srv.url + "/debug/profile/threads?debug=1")
        assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
        assert grouped.startswith(b"thread profile: total ")
        status, _, dump = fetch(srv.url + "/debug/profile/threads?debug=2")
        assert status == 200 and b"serve_forever" in dump
        assert grouped != dump
        tc = parse(fetch(srv.url + "/debug/profile/threadcreate")[2])
        assert tc.samples
