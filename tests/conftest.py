"""Shared fixtures: corpus paths, and real external tools (go, chromium).

Under ``CI=true`` a missing tool fails the test; elsewhere it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_tool(name: str, hint: str) -> str:
    """Return the path of executable ``name``; fail under CI, skip elsewhere, if missing."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} not found ({hint})"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus directory (real profiles and pytest-benchmark runs)."""
    if not CORPUS.is_dir():
        if IN_CI:
            pytest.fail(f"corpus missing at {CORPUS}")
        pytest.skip("shared corpus not present")
    return CORPUS


@pytest.fixture(scope="session")
def go_bin() -> str:
    """Path of the real ``go`` binary (Debian golang-go)."""
    return require_tool("go", "apt-get install golang-go")


@pytest.fixture(scope="session")
def go_pprof(go_bin: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Run ``go tool pprof ARGS...`` and return its stdout; raises on non-zero exit."""
    home = tmp_path_factory.mktemp("pprof-home")

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, PPROF_TMPDIR=str(home), HOME=str(home))
        proc = subprocess.run(
            [go_bin, "tool", "pprof", *args], capture_output=True, text=True, env=env, timeout=300
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"go tool pprof {' '.join(args)} failed: {proc.stderr}")
        return proc

    return run
