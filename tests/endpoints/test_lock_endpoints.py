"""/block and /mutex over a real werkzeug server, with lock profiling enabled at mount."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, List

from endpoint_servers import WsgiServer, fetch

from profkit.endpoints import ProfileMiddleware
from profkit.model import Profile, parse


class ContendedApp:
    """``/contend`` holds one shared lock for 30 ms; the lock is created after mounting."""

    def __init__(self) -> None:
        self.lock: Any = None

    def __call__(self, environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.lock is None:
            self.lock = threading.Lock()
        if environ["PATH_INFO"] == "/contend":
            with self.lock:
                hold_the_lock()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def hold_the_lock() -> None:
    time.sleep(0.03)


def function_names(p: Profile) -> List[str]:
    return [ln.function.name for s in p.samples for loc in s.locations for ln in loc.lines]


def contend(url: str, n: int = 12) -> None:
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: fetch(url + "/contend"), range(n)))


def test_lock_profiles_need_enabling(wsgi_server: Callable[[Any], WsgiServer]) -> None:
    with wsgi_server(ProfileMiddleware(ContendedApp())) as srv:
        for name in ("block", "mutex"):
            status, headers, body = fetch(srv.url + f"/debug/profile/{name}")
            assert status == 501
            assert headers["X-Go-Pprof"] == "1"
            assert b"enable=" in body and b"locks" in body


def test_mutex_and_block_profiles_show_the_contended_lock(
    wsgi_server: Callable[[Any], WsgiServer],
) -> None:
    app = ContendedApp()
    middleware = ProfileMiddleware(app, enable=["locks"])
    try:
        with wsgi_server(middleware) as srv:
            contend(srv.url)
            status, headers, body = fetch(srv.url + "/debug/profile/mutex")
            assert status == 200
            assert headers["Content-Disposition"] == 'attachment; filename="mutex.pb.gz"'
            mutex = parse(body)
            assert [st.type for st in mutex.sample_types] == ["contentions", "delay"]
            assert mutex.total(0) > 0
            assert any("hold_the_lock" in n or "ContendedApp" in n for n in function_names(mutex))
            block = parse(fetch(srv.url + "/debug/profile/block")[2])
            assert block.total(1) > 0

            # Delta: contention during the window shows; nothing before it does.
            worker = threading.Thread(target=lambda: (time.sleep(0.2), contend(srv.url, 6)))
            worker.start()
            status, headers, body = fetch(srv.url + "/debug/profile/block?seconds=2")
            worker.join()
            assert status == 200
            assert headers["Content-Disposition"] == 'attachment; filename="block-delta.pb.gz"'
            delta = parse(body)
            assert 0 < delta.total(0) < block.total(0) + delta.total(0)
            assert delta.duration_nanos >= 1_900_000_000
            assert any("ContendedApp" in n for n in function_names(delta))
            quiet = parse(fetch(srv.url + "/debug/profile/block?seconds=1")[2])
            assert not any("ContendedApp" in n for n in function_names(quiet))
    finally:
        middleware.close()
