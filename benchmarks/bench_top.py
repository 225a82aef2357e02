"""Benchmark: ``profkit top`` against ``go tool pprof -top`` on the same files.

Runs both as subprocesses (the real CLIs), interleaved, and reports the median wall
time and the peak RSS of each (``os.wait4`` rusage of the child, which includes
its own children), plus the ratios profkit/pprof (< 1.0 = profkit is better).

Files: the corpus ``large.cpu`` (20k samples) and a generated profile of about
``--size-mb`` MB (deterministic, built with ProfileBuilder: deep stacks drawn from
a random call tree, many functions, a thread label; cached under ``--cache``).

    .venv/bin/python benchmarks/bench_top.py [--runs 5] [--size-mb 30]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"


def generate(
    path: Path, size_mb: float, seed: int = 1234, *, samples: int = 0,
    depth: Tuple[int, int] = (20, 80),
) -> None:
    """Write a deterministic CPU profile of about ``size_mb`` MB (gzip'd) to ``path``.

    ``samples``/``depth`` (stack depth range) override the size-derived defaults.
    """
    from profkit.model import FrameKey, ProfileBuilder
    from profkit.model.codec import save

    rnd = random.Random(seed)
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000, default_sample_type="cpu", mapping_filename="/usr/bin/python3",
    )
    n_funcs = 40_000
    funcs = [
        FrameKey(f"pkg{i % 97}.mod{i % 1013}.func_{i}", f"pkg{i % 97}/mod{i % 1013}.py", 0, 10 + i % 500)
        for i in range(n_funcs)
    ]
    # a call tree: each node calls a few children; stacks are root-to-leaf walks
    locations = [b.location(f._replace(line=f.start_line + k)) for f in funcs for k in (1, 7)]
    children: Dict[int, List[int]] = {}
    threads = [f"thread-{i}" for i in range(8)]
    samples = samples or int(size_mb * 7_700)
    for _ in range(samples):
        depth_n = rnd.randint(*depth)
        node = rnd.randrange(64)
        stack = [locations[node]]
        for _d in range(depth_n):
            kids = children.get(node)
            if kids is None:
                kids = children[node] = [rnd.randrange(len(locations)) for _k in range(rnd.randint(1, 6))]
            node = kids[rnd.randrange(len(kids))]
            stack.append(locations[node])
        stack.reverse()  # leaf first
        n = rnd.randint(1, 5)
        b.add_locations(stack, [n, n * 10_000_000], labels={"thread": rnd.choice(threads)})
    p = b.build(duration_nanos=60_000_000_000, time_nanos=1_700_000_000_000_000_000)
    save(p, path)


_compiled = False


def precompile() -> None:
    """Write profkit's bytecode once, as ``pip install`` does: an installed profkit starts from
    ``.pyc`` files. This machine sets ``PYTHONDONTWRITEBYTECODE=1``, under which an editable
    checkout recompiles every module of the package at each start (~0.1 s CPU of a report)."""
    global _compiled
    if not _compiled:
        import compileall

        compileall.compile_dir(str(ROOT / "profkit"), quiet=1)
        _compiled = True


def run_child(argv: List[str]) -> Tuple[float, int, int]:
    """Run ``argv``; return (wall seconds, peak RSS bytes, exit status)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss * 1024, proc.returncode


def pprof_binary() -> List[str]:
    """Return the argv prefix of pprof: the tool binary itself if found, else ``go tool pprof``."""
    try:
        out = subprocess.run(["go", "tool", "-n", "pprof"], capture_output=True, text=True, check=True)
        return [out.stdout.strip()]
    except (OSError, subprocess.CalledProcessError):
        return ["go", "tool", "pprof"]


Run = Tuple[float, int, int]


def interleaved(pk_argv: List[str], go_argv: List[str], runs: int) -> Tuple[List[Run], List[Run]]:
    """Run profkit's and pprof's commands ``runs`` times each, alternating which goes first.

    Returns the (wall seconds, peak RSS, exit status) of each side's runs; a failed run
    ends the benchmark with its command named.
    """
    precompile()
    pk: List[Run] = []
    gg: List[Run] = []
    for i in range(runs):
        order = [(pk_argv, pk), (go_argv, gg)] if i % 2 == 0 else [(go_argv, gg), (pk_argv, pk)]
        for argv, acc in order:
            result = run_child(argv)
            if result[2] != 0:
                raise SystemExit(f"{' '.join(argv)} failed (exit {result[2]})")
            acc.append(result)
    return pk, gg


def pair(pk_argv: List[str], go_argv: List[str], runs: int) -> Dict[str, float]:
    """Run both ``runs`` times, interleaved; return the medians of time and peak RSS."""
    pk, gg = interleaved(pk_argv, go_argv, runs)
    return {
        "pk_s": statistics.median(r[0] for r in pk), "go_s": statistics.median(r[0] for r in gg),
        "pk_rss": statistics.median(r[1] for r in pk), "go_rss": statistics.median(r[1] for r in gg),
    }


def bench(path: Path, runs: int, go: List[str]) -> Dict[str, float]:
    """Return medians and peaks for profkit and pprof on ``path``."""
    pk_argv = [sys.executable, "-m", "profkit", "top", str(path)]
    go_argv = [*go, "-top", str(path)]
    env_home = tempfile.mkdtemp(prefix="bench-pprof-")
    os.environ.setdefault("PPROF_TMPDIR", env_home)
    pk, gg = interleaved(pk_argv, go_argv, runs)
    return {
        "profkit_s": statistics.median(r[0] for r in pk),
        "pprof_s": statistics.median(r[0] for r in gg),
        "profkit_rss": max(r[1] for r in pk),
        "pprof_rss": max(r[1] for r in gg),
    }


def main() -> int:
    """Run the benchmark and print one line per file with the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size-mb", type=float, default=30.0)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "profkit-bench-cache"))
    ap.add_argument("--generate", metavar="PATH", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        generate(Path(args.generate), args.size_mb)
        return 0
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    big = cache / f"generated-{args.size_mb:g}mb.pb.gz"
    if not big.exists():
        t = time.perf_counter()
        # in a child process: a big parent would inflate every child's peak RSS
        subprocess.run(
            [sys.executable, __file__, "--size-mb", str(args.size_mb), "--generate", str(big)],
            check=True,
        )
        print(f"generated {big} ({big.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t:.0f}s")
    go = pprof_binary()
    print(f"pprof: {' '.join(go)}; runs: {args.runs} (interleaved); python: {sys.version.split()[0]}")
    print(f"{'file':<28} {'profkit':>9} {'pprof':>9} {'time ratio':>10} {'profkit RSS':>12} {'pprof RSS':>10} {'RSS ratio':>9}")
    for path in (CORPUS / "large.cpu", big):
        r = bench(path, args.runs, go)
        tr, mr = r["profkit_s"] / r["pprof_s"], r["profkit_rss"] / r["pprof_rss"]
        print(
            f"{path.name:<28} {r['profkit_s']:>8.2f}s {r['pprof_s']:>8.2f}s {tr:>10.2f} "
            f"{r['profkit_rss'] / 2**20:>10.0f}MB {r['pprof_rss'] / 2**20:>8.0f}MB {mr:>9.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
