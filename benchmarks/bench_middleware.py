"""Does a 10 s CPU capture slow the service down? Latency under load, with and without.

Run: ``.venv/bin/python benchmarks/bench_middleware.py [--pairs 5] [--seconds 10] [--workers 4]``.

Starts the book-swap example (examples/bookswap) under gunicorn (gthread, 8 threads,
``--workers`` workers, default 1, /debug/profile mounted), then runs interleaved pairs
of load runs from a second process (examples/loadgen.py, closed loop, 4 clients): one
plain, one while ``profkit capture URL --seconds N`` runs for the whole window. With
several workers the capture fans out to every worker (``profkit.endpoints.workers``):
the bench waits until all of them answer a profile request before it measures, and
fails if a capture says fewer than all workers answered. Prints each run's p50 and
p99 in ms, the medians over pairs, and the ratios capture/plain.
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


def start_server(port: int, env: Dict[str, str], workers: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", str(workers),
         "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
         "bookswap.app:create_app(enable=())"],
        cwd=EXAMPLES, env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if workers_answering(f"http://127.0.0.1:{port}") == workers:
            return proc
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"bench: server did not start with {workers} worker(s) answering")


def workers_answering(url: str) -> int:
    """How many workers answer a point-in-time profile (1 for a single worker; 0: not up)."""
    try:
        with urllib.request.urlopen(url + "/books", timeout=2):
            pass
        with urllib.request.urlopen(url + "/debug/profile/threads", timeout=10) as resp:
            answered = resp.headers.get("X-Profkit-Workers")  # "K/N" when fanned out
    except OSError:
        return 0
    return int(answered.split("/")[0]) if answered else 1


def load_run(url: str, seconds: float, clients: int, mix: str, env: Dict[str, str],
             capture: bool, workers: int) -> Dict[str, float]:
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
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
        )
    stdout, _ = load.communicate(timeout=seconds * 3 + 30)
    if cap is not None:
        out_text, err = cap.communicate(timeout=seconds * 3 + 30)
        if cap.returncode != 0:
            raise SystemExit(f"bench: capture failed: {err.decode().strip()}")
        every = f"workers answered: {workers} of {workers}"
        if workers > 1 and every not in out_text.decode():
            raise SystemExit(f"bench: the capture did not cover every worker: {out_text.decode()}")
    summary = json.loads(stdout)
    if summary["errors"]:
        raise SystemExit(f"bench: load errors: {summary['first_error']}")
    return {"p50": summary["p50_ms"], "p99": summary["p99_ms"], "rps": summary["rps"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=1,
                        help="gunicorn workers (the capture fans out to all of them)")
    parser.add_argument("--mix", default="books=4,book=2,search=2,recommend=1,swap=2",
                        help="endpoint weights for examples/loadgen.py")
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(EXAMPLES)]))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port, env, args.workers)
    print(f"{args.pairs} pairs of {args.seconds:g} s runs, {args.workers} worker(s), "
          f"{args.clients} clients, mix {args.mix}")
    plain: List[Dict[str, float]] = []
    captured: List[Dict[str, float]] = []
    try:
        load_run(url, 3, args.clients, args.mix, env, capture=False, workers=args.workers)  # warm-up
        for i in range(args.pairs):
            order = [False, True] if i % 2 == 0 else [True, False]
            for with_capture in order:
                r = load_run(url, args.seconds, args.clients, args.mix, env, capture=with_capture,
                             workers=args.workers)
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
