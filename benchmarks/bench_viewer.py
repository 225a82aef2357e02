"""Benchmark: ``profkit view`` against ``go tool pprof -http`` in the same Chromium.

For each file (the corpus ``large.cpu`` and a generated 1 M-sample profile), in
interleaved pairs, each tool is started as a subprocess on a free loopback port;
``ready`` is the time from spawn until its flame-graph page answers, ``paint`` the
time from ``page.goto`` until the flame graph is drawn (profkit: the page's render
counter; pprof: the first box of /ui/flamegraph), ``total`` the sum; for profkit also
the time of ``/api/labels`` after the paint (the label filter's values, loaded only
when the filter is first opened).
Medians of the pairs are printed with the ratio profkit/pprof (< 1 = profkit faster).

On large.cpu it also measures, in profkit's page, zoom and search: the time from
the navigation to the next animation frame after the redraw (median and worst of
several), and the size of ``profkit flamegraph large.cpu`` (the export).

    .venv/bin/python benchmarks/bench_viewer.py [--runs 3] [--big-runs 1] [--no-big]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def generate_big(path: Path, samples: int = 1_000_000, stacks: int = 50_000, seed: int = 7) -> None:
    """Write a CPU profile of ``samples`` samples over ``stacks`` unique stacks.

    Stacks are random root-to-leaf walks (depth 10-40) of a random call tree over
    20k functions; each stack is sampled on ``samples // stacks`` threads, which
    keeps the samples apart (one sample per stack and thread label).
    """
    from profkit.model import FrameKey, ProfileBuilder
    from profkit.model.codec import save

    rnd = random.Random(seed)
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000,
                       mapping_filename="/usr/bin/python3")
    funcs = [FrameKey(f"pkg{i % 89}.mod{i % 701}.func_{i}", f"pkg{i % 89}/mod{i % 701}.py",
                      12 + i % 300, 10 + i % 300) for i in range(20_000)]
    locs = [b.location(f) for f in funcs]
    children: Dict[int, List[int]] = {}
    threads = [f"thread-{i}" for i in range(samples // stacks)]
    for _ in range(stacks):
        node = rnd.randrange(32)
        stack = [locs[node]]
        for _d in range(rnd.randint(10, 40)):
            kids = children.setdefault(node, [rnd.randrange(len(locs)) for _k in range(rnd.randint(1, 4))])
            node = kids[rnd.randrange(len(kids))]
            stack.append(locs[node])
        stack.reverse()
        for t in threads:
            n = rnd.randint(1, 5)
            b.add_locations(stack, [n, n * 10_000_000], labels={"thread": t})
    save(b.build(duration_nanos=600 * 10**9), path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited ({proc.returncode}) before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                r.read()
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def start(tool: str, path: Path, home: str) -> Tuple[subprocess.Popen, str, str, float]:
    """Start ``tool`` on ``path``; return (process, page URL, drawn test, ready seconds)."""
    port = free_port()
    t0 = time.perf_counter()
    if tool == "profkit":
        argv = [sys.executable, "-m", "profkit", "view", str(path), "--no-browser",
                "--port", str(port)]
        page, probe = f"http://127.0.0.1:{port}/", f"http://127.0.0.1:{port}/api/flame"
        drawn = "Number(document.body.dataset.draws || 0) > 0"
    else:
        argv = ["go", "tool", "pprof", "-no_browser", f"-http=127.0.0.1:{port}", str(path)]
        page = probe = f"http://127.0.0.1:{port}/ui/flamegraph"
        # pprof's flame graph: d3 SVG in #chart (Go <= 1.20), boxes in #stack-chart (newer)
        drawn = "document.querySelectorAll('#chart svg rect, #stack-chart .boxbg').length > 0"
    env = dict(os.environ, PPROF_TMPDIR=home, HOME=home)
    env.setdefault("PROFKIT_MAX_FRAMES", "200000000")  # the 1 M-sample profile is ~28 M frames
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_http(probe, proc)
    return proc, page, drawn, time.perf_counter() - t0


def paint(browser: Any, page_url: str, drawn: str) -> float:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    pg = ctx.new_page()
    t0 = time.perf_counter()
    pg.goto(page_url, wait_until="commit", timeout=900_000)
    pg.wait_for_function(drawn, timeout=900_000, polling="raf")
    took = time.perf_counter() - t0
    ctx.close()
    return took


def one(tool: str, path: Path, browser: Any, home: str) -> Tuple[float, float, float]:
    """Return (ready, paint, labels) seconds; labels: profkit's /api/labels (the label
    filter's first opening, loaded lazily), 0 for pprof."""
    proc, url, drawn, ready = start(tool, path, home)
    try:
        drawn_in = paint(browser, url, drawn)
        labels = 0.0
        if tool == "profkit":
            t0 = time.perf_counter()
            with urllib.request.urlopen(url + "api/labels", timeout=900) as r:
                r.read()
            labels = time.perf_counter() - t0
        return ready, drawn_in, labels
    finally:
        proc.terminate()
        proc.wait(timeout=60)


_INTERACT = """async ([kind, arg]) => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const before = Number(document.body.dataset.draws);
  const t0 = performance.now();
  PF.navigate(kind === 'zoom' ? {z: arg} : {search: arg});
  while (Number(document.body.dataset.draws) === before) await new Promise(r => setTimeout(r, 0));
  await frame();
  return [performance.now() - t0, PF.lastRenderMs];
}"""


def interactions(browser: Any, path: Path, home: str) -> Dict[str, List[Tuple[float, float]]]:
    """Zoom and search timings (ms: to the next frame, of the render itself) on ``path``."""
    proc, url, drawn, _ready = start("profkit", path, home)
    out: Dict[str, List[Tuple[float, float]]] = {"zoom": [], "search": []}
    try:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        pg = ctx.new_page()
        pg.goto(url)
        pg.wait_for_function(drawn)
        zooms = pg.evaluate("""() => { const f = PF.flame('flame'), t = f.trie, out = [];
          for (const i of f.rects.idx) if (i > 0) out.push(t.pathOf(i).join('.'));
          return out; }""")
        for z in (zooms * 3)[:12]:
            out["zoom"].append(tuple(pg.evaluate(_INTERACT, ["zoom", z])))
            out["zoom"].append(tuple(pg.evaluate(_INTERACT, ["zoom", ""])))
        for q in ["runtime", "time\\.", "main\\.next", "gc|malloc", "sync", "x"] * 2:
            out["search"].append(tuple(pg.evaluate(_INTERACT, ["search", q])))
        ctx.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="pairs on large.cpu")
    ap.add_argument("--big-runs", type=int, default=1, help="pairs on the 1 M-sample profile")
    ap.add_argument("--no-big", action="store_true")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "profkit-bench-cache"))
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    big = cache / "viewer-1m-samples.pb.gz"
    if not args.no_big and not big.exists():
        t = time.perf_counter()
        generate_big(big)
        print(f"generated {big} ({big.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.0f}s")
    home = tempfile.mkdtemp(prefix="bench-viewer-")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; python {sys.version.split()[0]}")
    files = [(CORPUS / "large.cpu", args.runs)] + ([] if args.no_big else [(big, args.big_runs)])
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        print(f"{'file':<26} {'tool':<8} {'ready':>7} {'paint':>7} {'total':>7}")
        for path, runs in files:
            res: Dict[str, List[Tuple[float, float, float]]] = {"profkit": [], "pprof": []}
            for i in range(runs):
                for tool in (("profkit", "pprof") if i % 2 == 0 else ("pprof", "profkit")):
                    res[tool].append(one(tool, path, browser, home))
            med = {}
            for tool, rows in res.items():
                ready = statistics.median(r[0] for r in rows)
                pnt = statistics.median(r[1] for r in rows)
                tot = statistics.median(r[0] + r[1] for r in rows)
                med[tool] = (ready, pnt, tot)
                lab = statistics.median(r[2] for r in rows)
                extra = f"  label filter opened: {lab:.2f}s" if tool == "profkit" else ""
                print(f"{path.name:<26} {tool:<8} {ready:>6.2f}s {pnt:>6.2f}s {tot:>6.2f}s{extra}",
                      flush=True)
            print(f"{path.name:<26} {'ratio':<8} {med['profkit'][0] / med['pprof'][0]:>7.2f} "
                  f"{med['profkit'][1] / med['pprof'][1]:>7.2f} {med['profkit'][2] / med['pprof'][2]:>7.2f}")
        inter = interactions(browser, CORPUS / "large.cpu", home)
        for kind, rows in inter.items():
            frame = [r[0] for r in rows]
            render = [r[1] for r in rows]
            print(f"large.cpu {kind:<6} to next frame: median {statistics.median(frame):.1f} ms, "
                  f"worst {max(frame):.1f} ms; render median {statistics.median(render):.1f} ms, "
                  f"worst {max(render):.1f} ms ({len(rows)} runs)")
        browser.close()
    out = Path(home) / "large.html"
    subprocess.run([sys.executable, "-m", "profkit", "flamegraph", str(CORPUS / "large.cpu"),
                    "-o", str(out)], check=True, capture_output=True)
    print(f"export of large.cpu: {out.stat().st_size / 1e6:.3f} MB")
    print(f"load after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
