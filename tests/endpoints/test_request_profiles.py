"""Per-request profiles (X-Profkit-Profile / ?profkit_profile=1) in real servers over loopback.

werkzeug (threaded) runs a Flask app in this process; uvicorn runs a FastAPI app
(apps/request_profile_app.py) in a subprocess. Each server starts once per module.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
from endpoint_servers import ROOT, WsgiServer, fetch, free_port, wait_until_serving

from profkit.endpoints.request_profile_store import ProfileStore, RequestProfile
from profkit.endpoints.request_profiles import MAX_ACTIVE
from profkit.model import Profile, parse

ASK = {"X-Profkit-Profile": "1"}
LIST = "/debug/profile/requests"


def flask_hot_function(ms: float) -> int:
    """Spend ``ms`` of CPU in this function's own Python code (the clock is read rarely)."""
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        for i in range(5000):
            n += i & 3
    return n


def get(url: str, **kwargs: Any) -> Tuple[int, Dict[str, str], bytes]:
    """``fetch`` with lower-case header names (the ASGI adapter sends them lower-case)."""
    status, headers, body = fetch(url, **kwargs)
    return status, {k.lower(): v for k, v in headers.items()}, body


def flat_by_function(p: Profile) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for s in p.samples:
        name = s.locations[0].lines[0].function.name
        out[name] = out.get(name, 0) + s.values[0]
    return out


def listed(url: str) -> List[Dict[str, Any]]:
    status, headers, body = get(url + LIST + "?format=json")
    assert status == 200 and headers["content-type"] == "application/json"
    return list(json.loads(body)["requests"])


class Holder:
    """A route that waits inside the app until released (to fill every profiling slot)."""

    def __init__(self) -> None:
        self.inside = threading.Semaphore(0)
        self.release = threading.Event()


@pytest.fixture(scope="module")
def flask_srv() -> Iterator[Tuple[str, Holder]]:
    from flask import Flask

    from profkit.integrations.flask import install

    app = Flask("request_profiles")
    holder = Holder()

    @app.get("/work/<int:ms>")
    def work(ms: int) -> str:
        flask_hot_function(ms)
        return f"worked {ms}"

    @app.get("/echo/<path:rest>")
    def echo(rest: str) -> str:
        return "echo"

    @app.get("/hold")
    def hold() -> str:
        holder.inside.release()
        holder.release.wait(30)
        return "held"

    install(app)
    with WsgiServer(app) as srv:
        yield srv.url, holder


@pytest.fixture(scope="module")
def uvicorn_srv() -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "request_profile_app:app", "--host", "127.0.0.1",
           "--port", str(port), "--log-level", "warning",
           "--app-dir", str(Path(__file__).parent / "apps")]
    env = dict(os.environ, PYTHONPATH=str(ROOT), PROFKIT_KEPT="4")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(url + "/", proc)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_flask_profiled_response_is_the_app_s_and_its_profile_is_listed(
    flask_srv: Tuple[str, Holder],
) -> None:
    url, _ = flask_srv
    plain = get(url + "/work/60")
    status, headers, body = get(url + "/work/60", headers=ASK)
    assert (status, body) == (plain[0], plain[2]) == (200, b"worked 60")
    assert "x-profkit-profile" not in plain[1]
    rid = headers["x-profkit-profile"]
    assert rid.isdigit()
    (entry,) = [e for e in listed(url) if e["id"] == rid]
    assert entry["method"] == "GET" and entry["route"] == "/work/<int:ms>"
    assert entry["path"] == "/work/60" and entry["status"] == 200 and entry["trigger"] == "asked"
    assert 0.06 <= entry["duration_s"] < 5 and entry["bytes"] > 0
    status, headers, data = get(url + entry["url"])
    assert status == 200 and headers["content-disposition"] == f'attachment; filename="request-{rid}.pb.gz"'
    prof = parse(data)
    assert prof.sample_types[0].type == "wall"
    flat = flat_by_function(prof)
    top = max(flat, key=lambda k: flat[k])
    assert top.endswith("flask_hot_function"), flat
    assert flat[top] >= 0.5 * 60e6  # most of its 60 ms


def test_the_profile_is_converted_after_the_request_is_answered(
    flask_srv: Tuple[str, Holder], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # converting to pprof (0.4-1.5 ms) is not on the asking request's path: the answer
    # comes while the conversion is held, and the listing waits for it
    import profkit.endpoints.request_profiles as request_profiles

    url, _ = flask_srv
    real = request_profiles._to_pprof
    entered, release = threading.Event(), threading.Event()
    ran_in: List[str] = []

    def held_conversion(*args: Any) -> bytes:
        ran_in.append(threading.current_thread().name)
        entered.set()
        release.wait(30)
        return real(*args)

    monkeypatch.setattr(request_profiles, "_to_pprof", held_conversion)
    try:
        status, headers, body = get(url + "/work/1", headers=ASK)
        assert (status, body) == (200, b"worked 1")  # answered, the conversion held
        assert entered.wait(30)
        assert ran_in == ["profkit-request-profiles"]  # not the request's thread
    finally:
        release.set()
    assert headers["x-profkit-profile"] in {e["id"] for e in listed(url)}


def test_query_parameter_asks_too_and_html_escapes(flask_srv: Tuple[str, Holder]) -> None:
    url, _ = flask_srv
    status, headers, _ = get(url + "/echo/%3Cb%3Ex?profkit_profile=1")
    assert status == 200 and headers["x-profkit-profile"].isdigit()
    status, headers, _ = get(url + "/echo/y?profkit_profile=0")
    assert "x-profkit-profile" not in headers
    status, headers, page = get(url + LIST)
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert b"/echo/&lt;b&gt;x" in page and b"<b>x" not in page
    assert get(url + LIST + "/999999")[0] == 404
    assert get(url + LIST + "?format=xml")[0] == 400


def test_not_allowed_client_is_not_profiled(flask_srv: Tuple[str, Holder]) -> None:
    url, _ = flask_srv
    before = {e["id"] for e in listed(url)}
    # behind a proxy every client looks like loopback, so the policy refuses proxied requests
    status, headers, body = get(url + "/work/5?profkit_profile=1",
                                  headers={**ASK, "X-Forwarded-For": "203.0.113.9"})
    assert (status, body) == (200, b"worked 5") and "x-profkit-profile" not in headers
    assert {e["id"] for e in listed(url)} == before


def test_busy_when_every_slot_is_taken(flask_srv: Tuple[str, Holder]) -> None:
    url, holder = flask_srv
    pool = ThreadPoolExecutor(MAX_ACTIVE)
    held = [pool.submit(get, url + "/hold", headers=ASK) for _ in range(MAX_ACTIVE)]
    try:
        for _ in range(MAX_ACTIVE):
            assert holder.inside.acquire(timeout=30)
        status, headers, body = get(url + "/work/1", headers=ASK)
        assert (status, body, headers["x-profkit-profile"]) == (200, b"worked 1", "busy")
    finally:
        holder.release.set()
    results = [f.result(timeout=30) for f in held]
    assert all(r[0] == 200 and r[2] == b"held" and r[1]["x-profkit-profile"].isdigit()
               for r in results)
    pool.shutdown()


def test_store_stays_bounded_under_a_burst(flask_srv: Tuple[str, Holder]) -> None:
    url, _ = flask_srv
    before = len(listed(url))
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda i: get(url + f"/work/{i % 3}", headers=ASK), range(64)))
    assert all(r[0] == 200 and r[2] == f"worked {i % 3}".encode() for i, r in enumerate(results))
    tags = [r[1]["x-profkit-profile"] for r in results]
    assert all(t == "busy" or t.isdigit() for t in tags) and any(t.isdigit() for t in tags)
    entries = listed(url)
    profiled = sum(t.isdigit() for t in tags)
    assert len(entries) == min(32, before + profiled)  # profiles_kept's default
    newest = sorted((int(t) for t in tags if t.isdigit()), reverse=True)[:20]
    assert {str(i) for i in newest} <= {e["id"] for e in entries}


def test_store_evicts_oldest_asked_and_fastest_slowest_within_bytes() -> None:
    store = ProfileStore(kept=2, slowest=2, max_bytes=100)

    def rec(i: int, trigger: str, duration: float, size: int = 10) -> RequestProfile:
        return RequestProfile(str(i), "GET", "/", "/", 200, duration, float(i), trigger, b"x" * size)

    for i in range(4):
        assert store.add(rec(i, "asked", 0.1))
    assert [r.id for r in store.records()] == ["3", "2"]
    for i, d in zip(range(10, 14), (0.5, 0.1, 0.9, 0.3)):
        store.add(rec(i, "slowest", d))
    assert sorted(r.id for r in store.records() if r.trigger == "slowest") == ["10", "12"]
    assert not store.would_keep_slow(0.2) and store.would_keep_slow(0.6)
    assert store.add(rec(20, "asked", 0.1, size=75))  # over 100 bytes: the older asked go first
    assert sorted(r.id for r in store.records()) == ["10", "12", "20"] and store.total_bytes() == 95
    assert not store.add(rec(21, "asked", 0.1, size=101))


def test_slowest_keeps_the_slowest_unasked_requests() -> None:
    from profkit.endpoints import ProfileMiddleware

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        flask_hot_function(float(environ["PATH_INFO"].rsplit("/", 1)[1]))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    with WsgiServer(ProfileMiddleware(app, slowest=2)) as srv:
        for ms in (1, 150, 1, 300, 1):
            status, headers, _ = get(srv.url + f"/burn/{ms}")
            assert status == 200 and "x-profkit-profile" not in headers
        entries = listed(srv.url)
    assert sorted(e["path"] for e in entries) == ["/burn/150", "/burn/300"]
    assert {e["trigger"] for e in entries} == {"slowest"}


def test_fastapi_await_is_attributed_to_the_coroutine(uvicorn_srv: str) -> None:
    plain = get(uvicorn_srv + "/mixed/3")
    status, headers, body = get(uvicorn_srv + "/mixed/3", headers=ASK)
    assert (status, body) == (plain[0], plain[2]) == (200, b'{"n":3}')
    rid = headers["x-profkit-profile"]
    (entry,) = [e for e in listed(uvicorn_srv) if e["id"] == rid]
    assert entry["route"] == "/mixed/{n}" and entry["status"] == 200
    prof = parse(get(uvicorn_srv + entry["url"])[2])
    flat = flat_by_function(prof)
    top = max(flat, key=lambda k: flat[k])
    assert top.endswith("asgi_hot_function") and flat[top] >= 0.5 * 80e6, flat
    awaited = 0
    for s in prof.samples:
        names = [loc.lines[0].function.name for loc in s.locations]
        if names[0] == "[await]":
            assert any(n.endswith(".mixed") for n in names), names
            awaited += s.values[0]
    assert awaited >= 0.5 * 30e6


def test_fastapi_burst_and_proxied_client(uvicorn_srv: str) -> None:
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda i: get(uvicorn_srv + "/quick", headers=ASK), range(24)))
    assert all(r[0] == 200 and r[2] == b'{"quick":true}' for r in results)
    assert all(r[1]["x-profkit-profile"] == "busy" or r[1]["x-profkit-profile"].isdigit()
               for r in results)
    assert len(listed(uvicorn_srv)) == 4  # PROFKIT_KEPT
    status, headers, _ = get(uvicorn_srv + "/quick", headers={**ASK, "X-Real-IP": "198.51.100.2"})
    assert status == 200 and "x-profkit-profile" not in headers


@pytest.mark.go
def test_download_opens_in_go_tool_pprof_and_profkit_view(
    flask_srv: Tuple[str, Holder], go_pprof: Any, tmp_path: Path,
) -> None:
    url, _ = flask_srv
    rid = get(url + "/work/50", headers=ASK)[1]["x-profkit-profile"]
    out = go_pprof("-top", url + f"{LIST}/{rid}").stdout
    rows = [line for line in out.splitlines() if re.match(r"\s*[\d.]+[a-zµ]*\s+[\d.]+%\s", line)]
    assert rows and rows[0].rstrip().endswith("flask_hot_function"), out
    saved = tmp_path / f"request-{rid}.pb.gz"
    saved.write_bytes(get(url + f"{LIST}/{rid}")[2])
    proc = subprocess.Popen([sys.executable, "-m", "profkit", "view", str(saved), "--no-browser"],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        line = ""
        while "serving" not in line:
            line = proc.stderr.readline()
            assert line, "profkit view exited"
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        assert m, line
        with urllib.request.urlopen(m.group(1) + "api/flame", timeout=60) as r:
            flame = json.loads(r.read())
        assert flame["type"] == "wall" and "flask_hot_function" in json.dumps(flame)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_django_wsgi_request_profile() -> None:
    apps = str(Path(__file__).parent / "apps")
    sys.path.insert(0, apps)
    try:
        import django_site
    finally:
        sys.path.remove(apps)
    with WsgiServer(django_site.wsgi_application()) as srv:
        status, headers, body = get(srv.url + "/items/4?profkit_profile=1")
        assert (status, body) == (200, b"item 4")
        (entry,) = listed(srv.url)
        assert entry["id"] == headers["x-profkit-profile"] and entry["path"] == "/items/4"
        prof = parse(get(srv.url + entry["url"])[2])
    in_view = sum(s.values[0] for s in prof.samples
                  if any(loc.lines[0].function.name.endswith("django_view_work")
                         for loc in s.locations))
    assert in_view >= 0.5 * 20e6  # the view busy-waits 20 ms


def test_token_mount_profiles_only_requests_with_the_token() -> None:
    from profkit.endpoints import ProfileMiddleware

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    auth = {"Authorization": "Bearer s3cret"}
    with WsgiServer(ProfileMiddleware(app, token="s3cret")) as srv:
        status, headers, body = get(srv.url + "/a", headers=ASK)
        assert (status, body) == (200, b"ok") and "x-profkit-profile" not in headers
        status, headers, body = get(srv.url + "/b", headers={**ASK, **auth})
        assert (status, body) == (200, b"ok") and headers["x-profkit-profile"].isdigit()
        assert get(srv.url + LIST + "?format=json")[0] == 401
        status, _, data = get(srv.url + LIST + "?format=json", headers=auth)
    assert status == 200 and [e["path"] for e in json.loads(data)["requests"]] == ["/b"]


@pytest.mark.parametrize("path,hot,route", [
    ("/sync/1", "asgi_hot_function", "/sync/{n}"),  # FastAPI sync endpoint
    ("/plain/1", "plain_route_hot", None),  # Starlette Route, sync endpoint: run_in_threadpool
    ("/depends/1", "dependency_hot", "/depends/{n}"),  # FastAPI sync dependency
])
def test_sync_code_in_the_thread_pool_carries_the_request_labels(
    uvicorn_srv: str, path: str, hot: str, route: Optional[str],
) -> None:
    """Labels live in the request's context, which the thread pool copies into the call."""
    assert get(uvicorn_srv + path)[0] == 200
    stop = threading.Event()
    statuses: List[int] = []

    def load() -> None:
        while not stop.is_set():
            statuses.append(get(uvicorn_srv + path)[0])

    workers = [threading.Thread(target=load) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        status, _, body = get(uvicorn_srv + "/debug/profile/profile?seconds=2")
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert status == 200 and statuses and set(statuses) == {200}
    prof = parse(body)
    idx = prof.sample_index("cpu")
    hot_samples = [s for s in prof.samples if any(
        loc.lines[0].function.name.endswith(hot) for loc in s.locations)]
    hot_cpu = sum(s.values[idx] for s in hot_samples)
    labelled = sum(s.values[idx] for s in hot_samples
                   if s.labels.get("method") == ["GET"] and s.labels.get("route")
                   and (route is None or s.labels["route"] == [route]))
    assert hot_cpu > 0 and labelled >= 0.9 * hot_cpu, (labelled, hot_cpu)


def test_fastapi_sync_endpoint_profile_follows_into_the_thread_pool(uvicorn_srv: str) -> None:
    status, headers, body = get(uvicorn_srv + "/sync/2", headers=ASK)
    assert (status, body) == (200, b'{"sync":2}')
    prof = parse(get(uvicorn_srv + f"{LIST}/{headers['x-profkit-profile']}")[2])
    flat = flat_by_function(prof)
    assert flat.get("request_profile_app.asgi_hot_function", 0) >= 0.5 * 20e6, flat


def test_profkit_top_reads_a_kept_request_profile_url(flask_srv: Tuple[str, Holder]) -> None:
    url, _ = flask_srv
    rid = get(url + "/work/50", headers=ASK)[1]["x-profkit-profile"]
    proc = subprocess.run(
        [sys.executable, "-m", "profkit", "top", "-n", "3", url + f"{LIST}/{rid}"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [ln for ln in proc.stdout.splitlines() if re.match(r"\s*[\d.]+[mun]?s\s", ln)]
    assert rows and rows[0].rstrip().endswith("flask_hot_function"), proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "profkit", "top", "-seconds=5", url + f"{LIST}/{rid}"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1, bad.stderr


def test_index_links_the_request_profiles() -> None:
    from profkit.endpoints.config import EndpointConfig
    from profkit.endpoints.index import render_index

    assert 'href="/debug/profile/requests"' in render_index("/debug/profile", EndpointConfig())
    off = render_index("/debug/profile", EndpointConfig(request_profiles=False))
    assert "/requests" not in off


def test_a_forked_child_reads_the_store_while_the_parent_converts() -> None:
    # the parent's converter thread holds the store's locks mid-conversion; a child forked
    # then has no such thread, and must still read the store (without the parent's pending)
    store = ProfileStore(kept=4, slowest=0, max_bytes=1 << 20)
    entered, release = threading.Event(), threading.Event()

    def held() -> bytes:
        entered.set()
        release.wait(30)
        return b"held"

    store.submit(RequestProfile("1", "GET", "/", "/", 200, 0.1, 1.0, "asked"), held)
    assert entered.wait(30)
    store.submit(RequestProfile("2", "GET", "/", "/", 200, 0.1, 2.0, "asked"), lambda: b"two")
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the store answers
        try:
            os._exit(0 if store.records() == [] else 1)
        finally:
            os._exit(2)
    try:
        deadline = time.monotonic() + 30
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                pytest.fail("the child hung on the store's locks")
            time.sleep(0.05)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    finally:
        release.set()
    assert [r.id for r in store.records()] == ["2", "1"]  # the parent's, both converted
