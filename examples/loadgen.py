"""A small bounded load generator for the book-swap service (loopback only).

``python examples/loadgen.py http://127.0.0.1:8000 --seconds 10 --concurrency 4``

Each worker keeps one HTTP/1.1 connection and sends requests back to back, choosing
endpoints by weight with a seeded RNG, until ``--seconds`` have passed or
``--max-requests`` were sent. Prints a JSON summary: requests, errors, throughput and
latency percentiles in milliseconds, overall and per endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sys
import threading
import time
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

DEFAULT_MIX = "books=4,book=2,search=2,recommend=1,swap=2"
PATHS = {
    "books": lambda rng: "/books",
    "book": lambda rng: f"/books/{rng.randrange(400)}",
    "search": lambda rng: "/search?q=" + rng.choice(["garden", "night+river", "ocean+tide", "glass+city"]),
    "recommend": lambda rng: f"/recommend/user{rng.randrange(60)}",
    "swap": lambda rng: f"/swap?user=user{rng.randrange(60)}&book={rng.randrange(400)}",
}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Return the ``q``-quantile (0..1) of ``sorted_values`` by nearest rank; 0 when empty."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(round(q * len(sorted_values) + 0.5)) - 1))
    return sorted_values[rank]


def parse_mix(text: str) -> List[Tuple[str, int]]:
    """Parse ``name=weight,...``; ValueError names an unknown endpoint."""
    mix = []
    for part in text.split(","):
        name, _, weight = part.partition("=")
        if name not in PATHS:
            raise ValueError(f"unknown endpoint {name!r} (choose from {', '.join(PATHS)})")
        mix.append((name, int(weight or "1")))
    return mix


def run_load(url: str, seconds: float, concurrency: int, mix: List[Tuple[str, int]],
             max_requests: Optional[int] = None, seed: int = 1) -> Dict[str, object]:
    """Drive the service; return the summary dict (latencies in ms)."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    names = [n for n, _ in mix]
    weights = [w for _, w in mix]
    results: Dict[str, List[float]] = {n: [] for n in names}
    errors: List[str] = []
    lock = threading.Lock()
    sent = [0]
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < deadline:
            with lock:
                if max_requests is not None and sent[0] >= max_requests:
                    break
                sent[0] += 1
            name = rng.choices(names, weights)[0]
            t0 = time.perf_counter()
            try:
                conn.request("GET", PATHS[name](rng))
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except (OSError, http.client.HTTPException) as e:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=30)
                errors.append(f"{name}: {e}")
            elapsed_ms = (time.perf_counter() - t0) * 1000
            with lock:
                if ok:
                    results[name].append(elapsed_ms)
                elif len(errors) < 1000:
                    errors.append(f"{name}: status")
        conn.close()

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    every = sorted(v for vs in results.values() for v in vs)
    return {
        "requests": len(every),
        "errors": len(errors),
        "first_error": errors[0] if errors else "",
        "seconds": round(wall, 2),
        "rps": round(len(every) / wall, 1) if wall else 0.0,
        "p50_ms": round(percentile(every, 0.50), 2),
        "p99_ms": round(percentile(every, 0.99), 2),
        "endpoints": {
            n: {"requests": len(v), "p50_ms": round(percentile(sorted(v), 0.5), 2),
                "p99_ms": round(percentile(sorted(v), 0.99), 2)}
            for n, v in results.items()
        },
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=None)
    parser.add_argument("--mix", default=DEFAULT_MIX)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    host = urlsplit(args.url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("loadgen: refusing a non-loopback target", file=sys.stderr)
        return 2
    summary = run_load(args.url, args.seconds, args.concurrency, parse_mix(args.mix),
                       args.max_requests, args.seed)
    print(json.dumps(summary))
    return 0 if summary["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
