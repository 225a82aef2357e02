"""One positive-whole-number check behind ``bench ab --runs`` and the plugin's instruction options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from profkit.bench.positive import parse_positive
from profkit.cli import main


def test_parse_positive() -> None:
    assert parse_positive("1") == 1 and parse_positive(" 12 ") == 12
    for bad in ("0", "-3", "1.5", "x", ""):
        with pytest.raises(ValueError, match=f"^{bad!r} is not a positive whole number$"):
            parse_positive(bad)


def test_bench_ab_runs_is_an_argparse_error(capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    assert main(["bench", "ab", "--base", ".", "--new", ".", "--runs", "0", "--", "pytest"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "profkit bench ab: error: argument --runs: '0' is not a positive whole number"


@pytest.mark.parametrize("option", ["--profkit-instructions-rounds", "--profkit-instructions-warmup"])
def test_plugin_option_is_a_pytest_usage_error(tmp_path: Path, option: str) -> None:
    (tmp_path / "test_x.py").write_text("def test_x():\n    pass\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{option}=zero",
                           "test_x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 4  # pytest's usage error
    assert f"ERROR: profkit: {option}: 'zero' is not a positive whole number" in proc.stderr
    assert "Traceback" not in proc.stderr
    ok = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"{option}=2",
                         "test_x.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stdout + ok.stderr
