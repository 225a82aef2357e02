"""What does a per-request profile cost, and what does the trigger check cost a request that did not ask?

Run: ``.venv/bin/python benchmarks/bench_request_profile.py [--pairs 7] [--requests 40]``.

In one process, without a network (so the numbers are the middleware's, not the
loopback's), a Flask app mounted with ``profkit.integrations.flask.install`` and a
FastAPI app with ``profkit.integrations.fastapi.install`` are called directly (WSGI
call; ASGI call with in-memory receive/send). Endpoints:

* ``loop``: 20 ms in one pure-Python loop (few calls: pyinstrument's best case);
* ``calls``: a recursive ``fib(21)`` (~29k Python calls: its worst case, since it hooks
  every call and return);
* ``tiny``: returns at once (the middleware's fixed cost dominates).

Interleaved pairs, median of ``--pairs``: per endpoint, ``asked/plain`` is the time of
a request carrying ``X-Profkit-Profile: 1`` over the same request without it (the
goal: <= 2.0), each asked request timed alone and the profile's conversion to pprof
(which runs on another thread once the request is answered) waited for untimed and
reported beside it (the listing's time while one was pending, less the listing's alone); ``pyinstrument`` is pyinstrument's own cost on the same work, without
any middleware (the work under ``Profiler(...).start()/stop()`` over the work alone,
same interval and async mode as the middleware's): what no wrapper of it can go under; ``check/off`` is a request that did not ask with request profiles on
(the header and query check) over the same with ``request_profiles=False`` (the
goal: 1.00 within noise). Last, the check alone (``timeit``, best of 5), in ns.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any, Callable, Dict, List, Optional

ASK = [("X-Profkit-Profile", "1")]


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def loop(ms: float) -> int:
    end = time.perf_counter() + ms / 1000
    n = 0
    while time.perf_counter() < end:
        for i in range(5000):
            n += i & 3
    return n


WORK: Dict[str, Callable[[], object]] = {
    "loop": lambda: loop(20), "calls": lambda: fib(21), "tiny": lambda: None,
}


def flask_app(**options: Any) -> Any:
    from flask import Flask

    from profkit.integrations.flask import install

    app = Flask("bench")
    for name, fn in WORK.items():
        app.add_url_rule(f"/{name}", name, lambda fn=fn: (fn(), "ok")[1])
    install(app, **options)
    return app.wsgi_app


def fastapi_app(**options: Any) -> Any:
    from fastapi import FastAPI

    from profkit.integrations.fastapi import install

    app = FastAPI()
    for name, fn in WORK.items():
        async def endpoint(fn: Callable[[], object] = fn) -> str:
            fn()
            return "ok"
        app.add_api_route(f"/{name}", endpoint, methods=["GET"], name=name)
    install(app, **options)
    return app


def wsgi_call(app: Any, path: str, ask: bool) -> None:
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "",
               "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
               "wsgi.url_scheme": "http", "wsgi.input": None, "SERVER_PROTOCOL": "HTTP/1.1"}
    if ask:
        environ["HTTP_X_PROFKIT_PROFILE"] = "1"
    body = app(environ, lambda status, headers, exc=None: None)
    b"".join(body)


async def asgi_call(app: Any, path: str, ask: bool) -> None:
    headers = [(b"host", b"127.0.0.1")] + ([(b"x-profkit-profile", b"1")] if ask else [])
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
             "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5000),
             "server": ("127.0.0.1", 80)}

    sent = []

    async def receive() -> Dict[str, Any]:
        if sent:  # as a server does: the next message comes when the client goes away
            await asyncio.Event().wait()
        sent.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Dict[str, Any]) -> None:
        pass

    await app(scope, receive, send)


def bare(work: Callable[[], object], async_mode: str) -> Callable[[], None]:
    """Return a run of ``work`` under pyinstrument alone, as the middleware sets it up."""
    from pyinstrument import Profiler

    from profkit.endpoints.config import EndpointConfig

    interval = EndpointConfig().profile_interval

    def run() -> None:
        profiler = Profiler(interval=interval, async_mode=async_mode)  # type: ignore[arg-type]
        profiler.start()
        try:
            work()
        finally:
            profiler.stop()
    return run


def timed(run: Callable[[], None], requests: int, settle: Optional[Callable[[], None]] = None) -> float:
    """Mean seconds of ``run()``; ``settle()`` runs untimed after each (the profile's
    conversion, which happens after the request is answered, on another thread)."""
    if settle is None:
        t0 = time.perf_counter()
        for _ in range(requests):
            run()
        return (time.perf_counter() - t0) / requests
    total = 0.0
    for _ in range(requests):
        t0 = time.perf_counter()
        run()
        t1 = time.perf_counter()
        total += t1 - t0
        settle()
        SETTLED.append(time.perf_counter() - t1)
    return total / requests


SETTLED: List[float] = []  # seconds of each settle(): the listing, and the conversion it waited for


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--requests", type=int, default=40, help="requests per timed run")
    args = parser.parse_args()
    loop_ = asyncio.new_event_loop()
    apps = {
        "wsgi": (flask_app(), flask_app(request_profiles=False)),
        "asgi": (fastapi_app(), fastapi_app(request_profiles=False)),
    }

    def runner(kind: str, app: Any, path: str, ask: bool) -> Callable[[], None]:
        if kind == "wsgi":
            return lambda: wsgi_call(app, path, ask)
        return lambda: loop_.run_until_complete(asgi_call(app, path, ask))

    print(f"{args.pairs} interleaved pairs, {args.requests} requests per run, median ratio")
    for kind, (on, off) in apps.items():
        for name in WORK:
            path = "/" + name
            n = args.requests * (10 if name == "tiny" else 1)
            runs = {
                "plain": runner(kind, on, path, False), "asked": runner(kind, on, path, True),
                "off": runner(kind, off, path, False), "work": WORK[name],
                "bare": bare(WORK[name], "disabled" if kind == "wsgi" else "enabled"),
            }
            listing = runner(kind, on, "/debug/profile/requests", False)  # waits for conversions
            for r in runs.values():  # warm-up
                timed(r, 3)
            ratios: Dict[str, List[float]] = {"asked/plain": [], "check/off": [], "bare": []}
            means: Dict[str, List[float]] = {k: [] for k in runs}
            for i in range(args.pairs):
                order = list(runs) if i % 2 == 0 else list(reversed(runs))
                t = {k: timed(runs[k], n, listing if k == "asked" else None) for k in order}
                for k, v in t.items():
                    means[k].append(v)
                ratios["asked/plain"].append(t["asked"] / t["plain"])
                ratios["check/off"].append(t["plain"] / t["off"])
                if name != "tiny":
                    ratios["bare"].append(t["bare"] / t["work"])
            listed_ms = statistics.median(SETTLED) * 1000
            alone_ms = timed(listing, n) * 1000  # nothing pending: the listing alone
            del SETTLED[:]
            med = {k: statistics.median(v) * 1000 for k, v in means.items()}
            print(f"{kind} {name:5}: plain {med['plain']:8.3f} ms  asked {med['asked']:8.3f} ms  "
                  f"off {med['off']:8.3f} ms  asked/plain "
                  f"{statistics.median(ratios['asked/plain']):.2f}  check/off "
                  f"{statistics.median(ratios['check/off']):.3f}"
                  + (f"  pyinstrument {statistics.median(ratios['bare']):.2f}"
                     if ratios["bare"] else "")
                  + f"  conversion ~{max(0.0, listed_ms - alone_ms):.3f} ms after the answer",
                  flush=True)
    loop_.close()
    check_cost()
    return 0


def check_cost() -> None:
    """Print the cost of the trigger check itself on a request that did not ask (ns)."""
    import timeit

    from profkit.endpoints.request_profile_calls import asgi_asks, wsgi_asks

    environ = {"PATH_INFO": "/x", "QUERY_STRING": "page=2&sort=name", "HTTP_HOST": "h",
               "HTTP_ACCEPT": "*/*", "HTTP_USER_AGENT": "bench"}
    scope = {"query_string": b"page=2&sort=name",
             "headers": [(b"host", b"h"), (b"accept", b"*/*"), (b"user-agent", b"bench")]}
    for name, fn in (("wsgi", lambda: wsgi_asks(environ)), ("asgi", lambda: asgi_asks(scope))):
        best = min(timeit.repeat(fn, number=100_000, repeat=5)) / 100_000
        print(f"{name} trigger check on a request that did not ask: {best * 1e9:.0f} ns")


if __name__ == "__main__":
    sys.exit(main())
