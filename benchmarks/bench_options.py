"""Benchmark: ``profkit top`` with pprof's number-changing options beside ``go tool pprof``.

The same Go-style arguments go to both real CLIs (subprocesses, interleaved,
alternating which runs first, ``--runs`` pairs) on the corpus ``large.cpu``:
regex filters in pprof's dialect (focus/hide/show_from with POSIX classes),
prune_from, mean, noinlines, relative percentages, unit/divide_by, and no
options at all as the reference. Printed per case: median wall time and peak RSS
(``os.wait4``) of each, and the ratios profkit/pprof (< 1.0 = profkit is better),
with the machine's load average.

    .venv/bin/python benchmarks/bench_options.py [--runs 5] [--only plain,regex]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_top import CORPUS, pair, pprof_binary  # noqa: E402

CASES: List[Tuple[str, List[str]]] = [
    ("plain", []),
    ("regex", ["-focus=[[:lower:]]+\\.[[:lower:]]", "-hide=\\Qruntime.gc\\E", "-show_from=^main"]),
    ("prune", ["-prune_from=^runtime\\.(mallocgc|scanobject)$", "-cum"]),
    ("mean", ["-mean", "-sample_index=cpu"]),
    ("noinl", ["-noinlines", "-lines"]),
    ("rel", ["-relative_percentages", "-focus=gc", "-unit=ms", "-divide_by=3"]),
]


def main() -> int:
    """Run the cases and print one line each."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="interleaved pairs per case")
    ap.add_argument("--only", default="", help="comma-separated cases (default: all)")
    args = ap.parse_args()
    os.environ.setdefault("PPROF_TMPDIR", tempfile.mkdtemp(prefix="bench-pprof-"))
    go = pprof_binary()
    path = str(CORPUS / "large.cpu")
    only = set(filter(None, args.only.split(",")))
    load = os.getloadavg()
    print(f"pprof: {' '.join(go)}; {args.runs} interleaved pairs on large.cpu; load average "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"{'case':<6} {'profkit':>8} {'pprof':>8} {'time':>6} {'pk RSS':>7} {'go RSS':>7} {'RSS':>5}")
    for name, flags in CASES:
        if only and name not in only:
            continue
        r = pair([sys.executable, "-m", "profkit", "top", *flags, path],
                 [*go, "-top", *flags, path], args.runs)
        print(f"{name:<6} {r['pk_s']:>7.2f}s {r['go_s']:>7.2f}s {r['pk_s'] / r['go_s']:>6.2f} "
              f"{r['pk_rss'] / 2**20:>5.0f}MB {r['go_rss'] / 2**20:>5.0f}MB "
              f"{r['pk_rss'] / r['go_rss']:>5.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
