"""Helpers for the endpoint tests: fetch, a werkzeug server in a thread, free ports."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def fetch(url: str, *, headers: Optional[Dict[str, str]] = None, method: str = "GET",
          timeout: float = 60, follow: bool = True) -> Tuple[int, Dict[str, str], bytes]:
    """GET ``url``; return (status, headers, body) for any status, raising only on I/O errors.

    ``follow=False`` returns a redirect itself instead of following it.
    """
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    opener = urllib.request.build_opener() if follow else urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers.items()), e.read()


class WsgiServer:
    """werkzeug's threaded dev server in a thread, on a free loopback port."""

    def __init__(self, app: Any) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log(self, type: str, message: str, *args: Any) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WsgiServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(10)



def wait_until_serving(url: str, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll ``url`` until it answers (any status) or ``proc`` dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited early: {out}")
        try:
            fetch(url, timeout=2)
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"server at {url} did not come up")



def wait_for_capture(url: str, timeout: float = 20, *, marker: bytes = b"ProfileEndpoints._timed") -> None:
    """Poll ``url``'s thread dump until ``marker`` (default: a CPU/wall capture) shows (no blind sleeps)."""
    deadline = time.monotonic() + timeout
    while marker not in fetch(url + "/debug/profile/threads?debug=2")[2]:
        if time.monotonic() > deadline:
            raise AssertionError("no capture started")
        time.sleep(0.02)
