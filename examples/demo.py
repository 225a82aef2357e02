"""`make demo`: profile a running web service through its /debug/profile endpoints.

1. Starts the book-swap Flask app (examples/bookswap) under gunicorn (gthread workers)
   on a free loopback port, with profkit's middleware mounted (heap and locks enabled).
2. Puts bounded load on it from a second process (examples/loadgen.py).
3. Captures CPU, allocation and lock profiles with `profkit capture URL`.
4. Prints what they show, computed from the profiles (examples/findings.py): the app
   function on top of each profile and the route it runs for (samples carry route
   labels). Exits 1 if a profile does not show what the demo says it shows, or if the
   load saw errors.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Dict, List

from findings import CLAIMS, check, find

from profkit.cli import main as profkit
from profkit.model import Profile, load

EXAMPLES = Path(__file__).resolve().parent
ROOT = EXAMPLES.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("demo: the server exited during start-up")
        try:
            with urllib.request.urlopen(url + "/books", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("demo: the server did not start")


def share_by_route(p: Profile) -> Dict[str, float]:
    idx = p.sample_index()
    total = p.total(idx) or 1
    shares: Dict[str, float] = {}
    for s in p.samples:
        route = (s.labels.get("route") or ["(server, outside the app)"])[0]
        shares[route] = shares.get(route, 0) + s.values[idx] / total
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def capture(url: str, out: Path, *args: str) -> Profile:
    print(f"\n$ profkit capture {url} {' '.join(args)} -o {out.name}", flush=True)
    code = profkit(["capture", url, *args, "-o", str(out), "--top", "8"])
    if code != 0:
        raise SystemExit(f"demo: profkit capture failed ({code})")
    return load(out)


def run() -> int:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(EXAMPLES)]))
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-k", "gthread", "--threads", "8", "-w", "1",
         "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning",
         "bookswap.app:create_app()"],
        cwd=EXAMPLES, env=env,
    )
    out_dir = Path(tempfile.mkdtemp(prefix="profkit-demo-"))
    try:
        wait_until_up(url, server)
        print(f"book-swap service up at {url} (gunicorn gthread, /debug/profile mounted)")
        load_proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "loadgen.py"), url, "--seconds", "14", "--concurrency", "4"],
            stdout=subprocess.PIPE, env=env,
        )
        print("load: 4 clients for 14 s from a second process (examples/loadgen.py)")
        cpu = capture(url, out_dir / "cpu.pb.gz", "--seconds", "5")
        allocs = capture(url, out_dir / "allocs.pb.gz", "--type", "allocs", "--seconds", "3")
        mutex = capture(url, out_dir / "mutex.pb.gz", "--type", "mutex", "--seconds", "3")
        stdout, _ = load_proc.communicate(timeout=60)
        summary = json.loads(stdout)
    finally:
        server.terminate()
        server.wait(30)

    print("\n=== What the profiles show (computed from them) ===")
    print(f"load: {summary['requests']} requests, {summary['errors']} errors, "
          f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms")
    for name, ep in summary["endpoints"].items():
        print(f"  /{name:<10} p50 {ep['p50_ms']:>7} ms   p99 {ep['p99_ms']:>7} ms")
    print("CPU by route: " + ", ".join(f"{r} {v:.0%}" for r, v in list(share_by_route(cpu).items())[:4]))
    problems: List[str] = []
    for title, prof, sample_type in [("CPU", cpu, "cpu"), ("Allocations", allocs, "alloc_space"),
                                     ("Lock contention", mutex, "delay")]:
        finding = find(prof, sample_type)
        print(f"{title}: {finding.describe()}")
        problem = check(finding, CLAIMS[sample_type])
        if problem:
            problems.append(problem)
    print(f"\nprofiles kept in {out_dir}; to explore the CPU profile in your browser:")
    print(f"  .venv/bin/profkit view {out_dir / 'cpu.pb.gz'}")
    if summary["errors"]:
        problems.append(f"the load saw {summary['errors']} errors: {summary['first_error']}")
    for problem in problems:
        print(f"demo: {problem}", file=sys.stderr)
    return 1 if problems else 0

if __name__ == "__main__":
    sys.exit(run())
