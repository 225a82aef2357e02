"""Real servers over loopback for the endpoint tests: werkzeug (threaded) and uvicorn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Sequence

import pytest
from endpoint_servers import ROOT, WsgiServer, free_port, wait_until_serving


@pytest.fixture
def wsgi_server() -> Callable[[Any], WsgiServer]:
    """Return a factory: ``with wsgi_server(app) as srv: fetch(srv.url + ...)``."""
    return WsgiServer


@pytest.fixture
def uvicorn_app() -> Iterator[Callable[..., str]]:
    """Start ``uvicorn MODULE:ATTR`` (from tests/endpoints/apps) in a subprocess; return its URL."""
    procs = []

    def start(target: str, env: Optional[Dict[str, str]] = None, *, factory: bool = False,
              args: Sequence[str] = ()) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning", "--app-dir", str(Path(__file__).parent / "apps")]
        if factory:
            cmd.append("--factory")
        cmd.extend(args)
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), **(env or {}))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/", proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def gunicorn_app() -> Iterator[Callable[[str], str]]:
    """Start ``gunicorn -k gthread MODULE:ATTR`` (from tests/endpoints/apps); return its URL."""
    procs = []

    def start(target: str) -> str:
        port = free_port()
        cmd = [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "4", "-w", "1",
               "-b", f"127.0.0.1:{port}", "--log-level", "warning",
               "--chdir", str(Path(__file__).parent / "apps"), target]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/", proc)
        return url

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
