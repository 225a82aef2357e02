"""examples/ci/bench_pr.sh: a broken benchmark run exits 2 with pytest's output, never 1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "ci" / "bench_pr.sh"

pytestmark = pytest.mark.skipif(shutil.which("git") is None or shutil.which("bash") is None,
                                reason="needs git and bash")

BENCH = """
def test_target(benchmark):
    benchmark(lambda: sum(range(100)))
"""


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_b.py").write_text(BENCH)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    _git(tmp_path, "tag", "base")
    return tmp_path


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               FORMAT="table")
    return subprocess.run(["bash", str(SCRIPT), *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=240)


def test_failing_benchmark_on_head_exits_2_and_shows_pytest_output(repo: Path) -> None:
    (repo / "benchmarks" / "test_b.py").write_text(BENCH + """
def test_broken(benchmark):
    benchmark(lambda: 1)
    assert False, "head broke this benchmark"
""")
    proc = _run(repo, "base", "1", "benchmarks/", "--benchmark-only", "--benchmark-min-rounds=3",
                "--benchmark-max-time=0.01", "--profkit-profile-seconds=0.05")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "pytest on head (run 1" in proc.stderr and "head broke this benchmark" in proc.stderr
    assert "not a regression verdict" in proc.stderr
    assert (repo / "bench" / "logs" / "head-1.log").is_file()
    assert not (repo / "bench" / "comment.md").exists()


@pytest.mark.parametrize("args", [("base", "1", "no_such_dir/"), ("no-such-ref", "1"), ("base", "x")])
def test_bad_arguments_exit_2(repo: Path, args: tuple) -> None:
    proc = _run(repo, *args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip() and "Traceback" not in proc.stderr
