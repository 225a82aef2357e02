"""A thread-per-request server whose requests spend known CPU in named functions.

Run as ``python thread_truth_app.py KIND LOGFILE``; KIND is ``werkzeug`` (a Flask app
under werkzeug's threaded server, profkit's Flask integration) or ``socketserver``
(a plain WSGI app under ``wsgiref`` mixed with ``socketserver.ThreadingMixIn``,
profkit's ``ProfileMiddleware``). Prints the port, then serves on 127.0.0.1 until
killed. Every request to ``/work`` spends ``HOT_S`` of its thread's CPU time in
``hot_function`` and ``WARM_S`` in ``warm_function`` (measured with the thread's own
CPU clock, which is the ground truth), then logs a line to LOGFILE through
``logging``, as real servers do. ``/counters`` answers the CPU nanoseconds spent so
far in each function and the process's CPU time, as JSON.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from socketserver import ThreadingMixIn
from typing import Any, Callable, Dict, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

HOT_S, WARM_S = 0.020, 0.006
log = logging.getLogger("truthapp")
_lock = threading.Lock()
totals = {"hot_ns": 0, "warm_ns": 0}


def _burn(seconds: float) -> int:
    t0 = time.thread_time_ns()
    end = t0 + int(seconds * 1e9)
    while time.thread_time_ns() < end:
        pass
    return time.thread_time_ns() - t0


def hot_function() -> int:
    """The request's hot spot: ``HOT_S`` of CPU."""
    return _burn(HOT_S)


def warm_function() -> int:
    """A smaller one: ``WARM_S`` of CPU."""
    return _burn(WARM_S)


def handle_work(path: str) -> bytes:
    hot, warm = hot_function(), warm_function()
    with _lock:
        totals["hot_ns"] += hot
        totals["warm_ns"] += warm
    log.info("served %s", path)
    return b"ok"


def counters() -> bytes:
    with _lock:
        return json.dumps({**totals, "process_ns": time.process_time_ns()}).encode()


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    body = counters() if path == "/counters" else handle_work(path)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class LoggingHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.info(format, *args)


def main() -> None:
    kind, logfile = sys.argv[1], sys.argv[2]
    logging.basicConfig(filename=logfile, level=logging.INFO)
    server: Any
    if kind == "werkzeug":
        from flask import Flask
        from werkzeug.serving import make_server as werkzeug_server

        from profkit.integrations import flask as pk_flask

        app = Flask("truthapp")
        app.add_url_rule("/work", "work", lambda: handle_work("/work"))
        app.add_url_rule("/counters", "counters", counters)
        pk_flask.install(app, max_seconds=60)
        server = werkzeug_server("127.0.0.1", 0, app, threaded=True)
    else:
        from profkit.endpoints import ProfileMiddleware

        server = make_server(
            "127.0.0.1", 0, ProfileMiddleware(wsgi_app, max_seconds=60),
            server_class=ThreadingWSGIServer, handler_class=LoggingHandler,
        )
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
