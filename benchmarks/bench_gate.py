"""Does the benchmark gate hold on a loaded machine? A/A false alarms and A/B catches, both modes.

Run: ``.venv/bin/python benchmarks/bench_gate.py [--trials 20] [--mode both] [--runs 6]``.

Trees (temporary directories, copies of tests/testdata/bench/suite.py, a real pytest-benchmark
suite of three benchmarks): ``a`` and ``a2`` identical, ``slow10`` with ``checksum`` doing 10 % more
work (``SLOWDOWN = 1.1`` edited in the file), ``slow2`` with 2 % more (``1.02``). While a busy loop
runs on every core (``--no-load`` to skip it), each trial runs, through the real CLI:

* wall mode: ``profkit bench ab --base a --new a2 --runs R`` (A/A) and ``--new slow10`` (A/B),
  pytest-benchmark timing with ``--benchmark-timer=time.process_time``, threshold 5 %;
* instruction mode: ``profkit bench ab --instructions --runs 1 --sample-unit round`` against
  ``a2`` (A/A) and ``slow2`` (A/B), threshold 1 % (one run per side: counts do not move between
  runs, measured below, so the 5 counted rounds per run are the samples).

Prints one line per comparison and a summary: false alarms (A/A exit 1) of N, slowdowns caught
(A/B exit 1 with ``test_checksum`` slower and nothing else slower) of N, and the spread of the
instruction counts of each benchmark across every instruction run of ``a`` (max/min - 1).
Goals (issue 13): 0 false alarms in both modes, every slowdown caught, counts vary < 0.5 %.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "tests" / "testdata" / "bench" / "suite.py"
LINE = 'SLOWDOWN = float(os.environ.get("PROFKIT_SLOWDOWN", "1.0"))'
WALL_PYTEST = ["pytest", "-q", "-p", "no:cacheprovider", "test_suite.py", "--benchmark-min-rounds=15",
               "--benchmark-max-time=0.05", "--benchmark-warmup=on",
               "--benchmark-warmup-iterations=5", "--benchmark-timer=time.process_time"]
INSTR_PYTEST = ["pytest", "-q", "-p", "no:cacheprovider", "test_suite.py"]


def make_trees(root: Path) -> Dict[str, Path]:
    trees = {}
    for name, slowdown in (("a", "1.0"), ("a2", "1.0"), ("slow10", "1.1"), ("slow2", "1.02")):
        tree = root / name
        tree.mkdir()
        (tree / "test_suite.py").write_text(SUITE.read_text().replace(LINE, f"SLOWDOWN = {slowdown}"))
        trees[name] = tree
    return trees


def compare(base: Path, new: Path, out: Path, options: List[str], command: List[str]) -> dict:
    """Run one ``profkit bench ab`` and return its exit code, rows and duration."""
    report = out.with_suffix(".report.json")
    cmd = [sys.executable, "-m", "profkit", "bench", "ab", "--base", str(base), "--new", str(new),
           "--dir", str(out), "--format", "json", "-o", str(report), *options, "--", *command]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - started
    if proc.returncode == 2 or not report.exists():
        raise SystemExit(f"bench ab failed: {proc.stderr.strip().splitlines()[-1:]}")
    doc = json.loads(report.read_text())
    if doc.get("exit_code") != proc.returncode:  # a crash after the report was written
        raise SystemExit(f"bench ab exited {proc.returncode}, its report says "
                         f"{doc.get('exit_code')}: {proc.stderr.strip()[-2000:]}")
    rows = {r["name"].split("::")[-1]: {"verdict": r["verdict"], "change": r["change"], "mde": r["mde"]}
            for r in doc["benchmarks"]}
    return {"code": proc.returncode, "rows": rows, "seconds": took, "dir": str(out)}


def caught(result: dict) -> bool:
    slower = {name for name, r in result["rows"].items() if r["verdict"] == "slower"}
    return result["code"] == 1 and slower == {"test_checksum"}


def start_load() -> List[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 1)]


def counts_spread(dirs: List[str]) -> Dict[str, float]:
    """Per benchmark: max/min - 1 of the per-run median counts over every base run given."""
    medians: Dict[str, List[float]] = {}
    for d in dirs:
        for path in Path(d).glob("base-*.json"):
            for b in json.loads(path.read_text())["benchmarks"]:
                medians.setdefault(b["name"], []).append(statistics.median(b["stats"]["data"]))
    return {name: max(v) / min(v) - 1 for name, v in medians.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--runs", type=int, default=6, help="runs per side in wall mode (default 6)")
    ap.add_argument("--mode", choices=("wall", "instructions", "both"), default="both")
    ap.add_argument("--no-load", action="store_true", help="no busy loop on the cores")
    ap.add_argument("--keep", metavar="DIR", help="keep the runs here (default: a temporary dir)")
    args = ap.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="bench-gate-"))
    root.mkdir(parents=True, exist_ok=True)
    trees = make_trees(Path(tempfile.mkdtemp(prefix="bench-gate-trees-")))
    modes = ["wall", "instructions"] if args.mode == "both" else [args.mode]
    load = [] if args.no_load else start_load()
    results: Dict[str, Dict[str, List[dict]]] = {m: {"aa": [], "ab": []} for m in modes}
    try:
        for trial in range(1, args.trials + 1):
            for mode in modes:
                if mode == "wall":
                    opts, cmd, slow = ["--runs", str(args.runs), "--threshold", "5%"], WALL_PYTEST, "slow10"
                else:
                    opts = ["--instructions", "--runs", "1", "--sample-unit", "round", "--threshold", "1%"]
                    cmd, slow = INSTR_PYTEST, "slow2"
                for kind, new in (("aa", "a2"), ("ab", slow)):
                    r = compare(trees["a"], trees[new], root / f"{mode}-{kind}-{trial:02d}", opts, cmd)
                    results[mode][kind].append(r)
                    change = r["rows"]["test_checksum"]["change"]
                    print(f"{mode:12s} {kind} trial {trial:2d}: exit {r['code']}  checksum "
                          f"{change:+.2%}  mde {r['rows']['test_checksum']['mde']}  {r['seconds']:.0f}s",
                          flush=True)
    finally:
        for p in load:
            p.kill()
            p.wait()
    load_note = "no background load" if args.no_load else f"busy loop on {len(load)} cores"
    print(f"\nsummary ({args.trials} trials, {load_note}):")
    for mode in modes:
        aa, ab = results[mode]["aa"], results[mode]["ab"]
        false_alarms = sum(r["code"] == 1 for r in aa)
        hits = sum(caught(r) for r in ab)
        secs = statistics.median(r["seconds"] for r in aa + ab)
        changes = [r["rows"]["test_checksum"]["change"] for r in ab]
        print(f"  {mode}: false alarms {false_alarms}/{len(aa)}, slowdowns caught {hits}/{len(ab)} "
              f"(checksum change median {statistics.median(changes):+.2%}, "
              f"min {min(changes):+.2%}), median {secs:.0f}s per comparison")
        if mode == "instructions":
            spread = counts_spread([r["dir"] for r in aa + ab])
            print("  instruction counts, max/min - 1 over all base runs: "
                  + ", ".join(f"{k} {v:.4%}" for k, v in sorted(spread.items())))
    print(f"runs kept in {root}")


if __name__ == "__main__":
    main()
