"""Benchmark: profkit's reports beside ``go tool pprof`` on the same files, same run.

Reports: ``top``, ``top`` with a focus filter, ``tree``, ``peek``, ``dot`` and a diff
(``diff BASE NEW`` against ``pprof -top -diff_base=BASE NEW``), each run as a
subprocess of the real CLIs, profkit and pprof interleaved (alternating which goes
first), several pairs; printed: median wall time and peak RSS (``os.wait4``) of each
and the ratios profkit/pprof (< 1.0 = profkit is better). A diff is also printed
as a ratio to profkit's own ``top`` of the new file (the goal: <= 2x).

Files: the corpus ``large.cpu`` (diffed against ``sample.cpu``) and two generated
1 M-sample CPU profiles (``bench_top.generate``: seeds 1234 and 4321, stacks 8-30
deep, ~49 MB each; cached under ``--cache``, generated in a child process once).
The generated files pass profkit's default input limits only with
``PROFKIT_MAX_FRAMES`` raised, which this benchmark sets for its children.

    .venv/bin/python benchmarks/bench_reports.py [--runs 5] [--only top,diff] [--files large]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_top import CORPUS, pair, pprof_binary  # noqa: E402

SAMPLES = 1_000_000
DEPTH = (8, 30)
FOCUS = {"large.cpu": "runtime", "gen": "pkg1[0-9]\\."}
PEEK = {"large.cpu": "time\\.now", "gen": "func_1[0-9]$"}


def reports(new: str, base: str, kind: str) -> List[Tuple[str, List[str], List[str]]]:
    """Return (name, profkit argv tail, pprof argv tail) per report on ``new``."""
    focus, peek = FOCUS[kind], PEEK[kind]
    return [
        ("top", ["top", new], ["-top", new]),
        ("focus", ["top", "--focus", focus, new], ["-top", f"-focus={focus}", new]),
        ("tree", ["tree", new], ["-tree", new]),
        ("peek", ["peek", peek, new], ["-peek", peek, new]),
        ("dot", ["dot", new], ["-dot", new]),
        ("diff", ["diff", base, new], ["-top", f"-diff_base={base}", new]),
    ]


def generated(cache: Path) -> Tuple[Path, Path]:
    """Return the two generated profiles, writing them (in a child) when missing."""
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for seed in (1234, 4321):
        path = cache / f"gen-{SAMPLES}-{DEPTH[0]}-{DEPTH[1]}-{seed}.pb.gz"
        if not path.exists():
            t = time.perf_counter()
            code = ("import sys; sys.path.insert(0, sys.argv[1]); import bench_top; "
                    "from pathlib import Path; bench_top.generate(Path(sys.argv[2]), 0, "
                    f"seed={seed}, samples={SAMPLES}, depth={DEPTH})")
            subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent), str(path)],
                           check=True)
            print(f"generated {path} ({path.stat().st_size / 1e6:.1f} MB) "
                  f"in {time.perf_counter() - t:.0f}s", flush=True)
        paths.append(path)
    return paths[0], paths[1]


def main() -> int:
    """Run the benchmark and print one line per (file, report)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="interleaved pairs per report")
    ap.add_argument("--only", default="", help="comma-separated reports (default: all)")
    ap.add_argument("--files", default="large,gen", help="large, gen or both (default)")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "profkit-bench-cache"))
    args = ap.parse_args()
    os.environ.setdefault("PPROF_TMPDIR", tempfile.mkdtemp(prefix="bench-pprof-"))
    os.environ["PROFKIT_MAX_FRAMES"] = str(10 ** 9)
    go = pprof_binary()
    only = set(filter(None, args.only.split(",")))
    sets = []
    if "large" in args.files:
        sets.append(("large.cpu", str(CORPUS / "large.cpu"), str(CORPUS / "sample.cpu")))
    if "gen" in args.files:
        a, b = generated(Path(args.cache))
        sets.append(("gen", str(b), str(a)))
    load = os.getloadavg()
    print(f"pprof: {' '.join(go)}; runs: {args.runs} interleaved pairs; python "
          f"{sys.version.split()[0]}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'file':<10} {'report':<6} {'profkit':>8} {'pprof':>8} {'time':>6} "
          f"{'profkit RSS':>11} {'pprof RSS':>9} {'RSS':>5}")
    for kind, new, base in sets:
        top_s = None
        for name, pk_tail, go_tail in reports(new, base, kind):
            if only and name not in only:
                continue
            r = pair([sys.executable, "-m", "profkit", *pk_tail], [*go, *go_tail], args.runs)
            if name == "top":
                top_s = r["pk_s"]
            extra = f"  diff/top {r['pk_s'] / top_s:.2f}" if name == "diff" and top_s else ""
            print(f"{kind:<10} {name:<6} {r['pk_s']:>7.2f}s {r['go_s']:>7.2f}s "
                  f"{r['pk_s'] / r['go_s']:>6.2f} {r['pk_rss'] / 2**20:>9.0f}MB "
                  f"{r['go_rss'] / 2**20:>7.0f}MB {r['pk_rss'] / r['go_rss']:>5.2f}{extra}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
