"""``pytest --profkit-instructions``: real callgrind counts in pytest-benchmark JSON; bad input.

The suite is run for real under Debian's valgrind (two runs of a handful of tiny benchmarks, about
10 s each); the bad-input cases need no valgrind run except the crash.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest
from tool_helpers import require_tool

pytestmark = [pytest.mark.valgrind, pytest.mark.slow, pytest.mark.timeout(900)]  # valgrind on a busy runner

SUITE = """
import pytest

def work(n):
    total = 0
    for i in range(n):
        total = (total * 31 + i) & 0xFFFF
    return total

@pytest.fixture
def heavy():
    work(300000)  # the fixture's set-up: never counted
    return 3000

def test_small(benchmark):
    benchmark(work, 3000)

def test_double(benchmark):
    benchmark(work, 6000)

def test_heavy_fixture(benchmark, heavy):
    benchmark(work, heavy)

def test_pedantic_setup(benchmark):
    def setup():
        work(300000)  # pedantic's set-up: never counted
        return (3000,), {}
    benchmark.pedantic(work, setup=setup, rounds=2)
"""


def run_pytest(cwd: Path, *args: str, env: Dict[str, str] | None = None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py", *args]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, **(env or {})))


@pytest.fixture(scope="module")
def counted(tmp_path_factory: pytest.TempPathFactory) -> List[dict]:
    require_tool("valgrind", "apt-get install valgrind")
    work = tmp_path_factory.mktemp("instr")
    results = tmp_path_factory.mktemp("instr-results")
    (work / "test_suite.py").write_text(SUITE)
    docs = []
    for i in range(2):
        # results go elsewhere: a new file in the suite's directory (what pytest scans) changes the
        # process's history and moved counts by ~2 % (docs/BENCH.md); bench ab does the same
        out = results / f"run{i}.json"
        proc = run_pytest(work, "--profkit-instructions", f"--benchmark-json={out}")
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert "instructions counted by callgrind" in proc.stdout
        docs.append(json.loads(out.read_text()))
    return docs


def medians(doc: dict) -> Dict[str, float]:
    return {b["name"]: statistics.median(b["stats"]["data"]) for b in doc["benchmarks"]}


def test_counts_in_pytest_benchmark_shape(counted: List[dict]) -> None:
    doc = counted[0]
    assert doc["profkit"]["unit"] == "instructions" and doc["profkit"]["valgrind"]
    for bench in doc["benchmarks"]:
        assert bench["extra_info"]["profkit_unit"] == "instructions"
        assert bench["options"]["timer"] == "callgrind instructions"
        assert len(bench["stats"]["data"]) == 5
        assert all(v == int(v) and v > 10_000 for v in bench["stats"]["data"])


def test_counts_the_call_only(counted: List[dict]) -> None:
    m = medians(counted[0])
    # twice the loop, about twice the instructions (plus a constant call overhead)
    assert 1.9 < m["test_double"] / m["test_small"] < 2.05, m
    # 100x more work in the fixture / pedantic set-up is not in the count
    assert abs(m["test_heavy_fixture"] / m["test_small"] - 1) < 0.01, m
    assert abs(m["test_pedantic_setup"] / m["test_small"] - 1) < 0.01, m


def test_counts_repeat_between_runs(counted: List[dict]) -> None:
    a, b = medians(counted[0]), medians(counted[1])
    for name in a:
        assert abs(b[name] / a[name] - 1) < 0.005, (name, a[name], b[name])


def test_priming_writes_the_caches_even_under_dontwritebytecode(tmp_path: Path) -> None:
    """CI images often set PYTHONDONTWRITEBYTECODE=1; the priming run must still write the
    byte-code caches, or counts depend on caches other processes happened to leave (an A/A
    difference of 0.78 % on one benchmark when priming obeyed the variable, docs/BENCH.md)."""
    from profkit.bench.instructions import _prime

    (tmp_path / "test_suite.py").write_text(SUITE)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    _prime([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_suite.py"],
           str(tmp_path), env)
    assert list((tmp_path / "__pycache__").glob("test_suite*.pyc")), "priming wrote no cache"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"  # the counted run's environment is untouched


def test_compare_reads_instruction_runs(counted: List[dict], tmp_path: Path) -> None:
    from profkit.cli import main

    paths = []
    for i, doc in enumerate(counted):
        path = tmp_path / f"r{i}.json"
        path.write_text(json.dumps(doc))
        paths.append(str(path))
    out = tmp_path / "cmp.json"
    code = main(["bench", "compare", paths[0], paths[1], "--format", "json", "-o", str(out)])
    assert code == 0
    rows = json.loads(out.read_text())["benchmarks"]
    assert {r["unit"] for r in rows} == {"instructions"}


def test_crash_under_valgrind_is_one_line_exit_2(tmp_path: Path) -> None:
    require_tool("valgrind", "apt-get install valgrind")
    (tmp_path / "test_suite.py").write_text(
        "import ctypes\n\ndef test_crash(benchmark):\n    benchmark(ctypes.string_at, 0)\n")
    out = tmp_path / "run.json"
    proc = run_pytest(tmp_path, "--profkit-instructions", f"--benchmark-json={out}")
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("profkit:")]
    assert len(lines) == 1 and "crashed under valgrind (SIGSEGV)" in lines[0], proc.stderr
    assert "test_suite.py::test_crash" in lines[0]
    assert "Traceback" not in proc.stderr and not out.exists()


def test_missing_valgrind_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "test_suite.py").write_text(SUITE)
    out = tmp_path / "run.json"
    proc = run_pytest(tmp_path, "--profkit-instructions", "--profkit-valgrind",
                      str(tmp_path / "no-such-valgrind"), f"--benchmark-json={out}")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("profkit: valgrind not found"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()


def test_too_old_valgrind_is_one_line_exit_2(tmp_path: Path) -> None:
    # an old release cannot be installed next to Debian's: a script that answers like valgrind 3.10
    old = tmp_path / "valgrind"
    old.write_text("#!/bin/sh\necho valgrind-3.10.1\n")
    old.chmod(0o755)
    (tmp_path / "test_suite.py").write_text(SUITE)
    out = tmp_path / "run.json"
    proc = run_pytest(tmp_path, "--profkit-instructions", "--profkit-valgrind", str(old),
                      f"--benchmark-json={out}")
    assert proc.returncode == 2
    assert "valgrind 3.10 is too old for the instruction mode; need >= 3.16" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()
