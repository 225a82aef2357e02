"""examples/ci/benchmarks-instructions.yml: its `profkit bench ab` step, run as written, gates a PR.

The step's command is taken from the workflow file (so the recipe cannot drift from the CLI), the
base SHA replaced by a tag of a throw-away git repository whose head makes a benchmark slower.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from tool_helpers import require_tool

WORKFLOW = Path(__file__).resolve().parents[2] / "examples" / "ci" / "benchmarks-instructions.yml"

pytestmark = [pytest.mark.valgrind, pytest.mark.slow, pytest.mark.timeout(900)]  # valgrind on a busy runner

BENCH = """
def work(n):
    return sum(i * i for i in range(n))

def test_target(benchmark):
    benchmark(work, {n})

def test_other(benchmark):
    benchmark(work, 500)
"""


def workflow_command() -> str:
    text = WORKFLOW.read_text()
    m = re.search(r"^\s*(profkit bench ab .*?)\n\s*echo ", text, re.S | re.M)
    assert m, "no profkit bench ab step in the workflow"
    return m.group(1).replace("\\\n", " ")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


def test_recipe_step_fails_the_pr_and_writes_the_comment(tmp_path: Path) -> None:
    require_tool("valgrind", "apt-get install valgrind")
    require_tool("git", "apt-get install git")
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "test_b.py").write_text(BENCH.format(n=2000))
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "base")
    _git(tmp_path, "tag", "base")
    (tmp_path / "benchmarks" / "test_b.py").write_text(BENCH.format(n=2100))  # the PR: +5 % work
    command = workflow_command().replace("${{ github.event.pull_request.base.sha }}", "base")
    argv = shlex.split(command)
    assert argv[:3] == ["profkit", "bench", "ab"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "::error title=Benchmark regression::benchmarks/test_b.py::test_target slower +" in proc.stdout
    comment = (tmp_path / "bench" / "comment.md").read_text()
    assert comment.startswith("### :x: Benchmark comparison — FAIL: 1 slower")  # test_other: same code
    assert "instr" in comment and "| MDE |" in comment
    assert sorted(p.name for p in (tmp_path / "bench").glob("*.json")) == ["base-01.json", "new-01.json"]
