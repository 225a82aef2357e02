"""Does a 10 s CPU capture slow the service down? Latency under load, with and without.

Run: ``.venv/bin/python benchmarks/bench_middleware.py [--pairs 5] [--seconds 10]``.

Starts the book-swap example (examples/bookswap) under gunicorn (gthread, 8 threads,
one worker, /debug/profile mounted), then runs interleaved pairs of load runs from a
second process (examples/loadgen.py, closed loop, 4 clients): one plain, one while
``profkit capture URL --seconds N`` runs for the whole window. Prints each run's p50
and p99 in ms, the medians over pairs, and the ratios capture/plain.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int, env: Dict[str, str]) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1",
         "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
         "bookswap.app:create_app(enable=())"],
        cwd=EXAMPLES, env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/books", timeout=2):
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("bench: server did not start")


def load_run(url: str, seconds: float, clients: int, mix: str, env: Dict[str, str],
             capture: bool) -> Dict[str, float]:
    load = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "loadgen.py"), url, "--seconds", str(seconds),
         "--concurrency", str(clients), "--mix", mix],
        stdout=subprocess.PIPE, env=env,
    )
    cap = None
    if capture:
        out = Path(tempfile.mkdtemp()) / "cpu.pb.gz"
        cap = subprocess.Popen(
            [sys.executable, "-m", "profkit", "capture", url, "--seconds", str(seconds),
             "-o", str(out), "--top", "0", "--no-progress"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
        )
    stdout, _ = load.communicate(timeout=seconds * 3 + 30)
    if cap is not None:
        _, err = cap.communicate(timeout=seconds * 3 + 30)
        if cap.returncode != 0:
            raise SystemExit(f"bench: capture failed: {err.decode().strip()}")
    summary = json.loads(stdout)
    if summary["errors"]:
        raise SystemExit(f"bench: load errors: {summary['first_error']}")
    return {"p50": summary["p50_ms"], "p99": summary["p99_ms"], "rps": summary["rps"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--mix", default="books=4,book=2,search=2,recommend=1,swap=2",
                        help="endpoint weights for examples/loadgen.py")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(EXAMPLES)]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, env)
    print(f"{args.pairs} pairs of {args.seconds:g} s runs, {args.clients} clients, mix {args.mix}")
    plain: List[Dict[str, float]] = []
    captured: List[Dict[str, float]] = []
    try:
        load_run(url, 3, args.clients, args.mix, env, capture=False)  # warm-up
        for i in range(args.pairs):
            order = [False, True] if i % 2 == 0 else [True, False]
            for with_capture in order:
                r = load_run(url, args.seconds, args.clients, args.mix, env, capture=with_capture)
                (captured if with_capture else plain).append(r)
                label = "capture" if with_capture else "plain  "
                print(f"pair {i + 1} {label}: p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                      f"{r['rps']:7.1f} req/s", flush=True)
    finally:
        server.terminate()
        server.wait(30)
    print()
    for key in ("p50", "p99", "rps"):
        a = statistics.median(r[key] for r in plain)
        b = statistics.median(r[key] for r in captured)
        print(f"median {key}: plain {a:8.2f}  during capture {b:8.2f}  ratio {b / a:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
