"""`--profiles` degrades per benchmark; "new" means absent from the base profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_compare import timings

from profkit.bench.profiles import render_grown
from profkit.cli import main


def _run_with_profile(path: Path, values: list, profile: str) -> str:
    stats = {"data": values, "rounds": len(values), "median": sorted(values)[len(values) // 2],
             "mean": sum(values) / len(values), "stddev": 0.0, "min": min(values), "max": max(values)}
    path.write_text(json.dumps({"machine_info": {}, "benchmarks": [
        {"fullname": "t::slow", "name": "slow", "stats": stats,
         "extra_info": {"profkit_profile": profile, "profkit_profile_calls": 10}}]}))
    return str(path)


def test_missing_profile_is_a_note_and_the_exit_code_reflects_the_comparison(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b = _run_with_profile(tmp_path / "b.json", timings(1e-3, 30, 1), "gone/base.pb.gz")
    n = _run_with_profile(tmp_path / "n.json", timings(1.5e-3, 30, 2), "gone/new.pb.gz")
    out = tmp_path / "r.json"
    assert main(["bench", "compare", b, n, "--profiles", "--format", "json", "-o", str(out)]) == 1
    (row,) = json.loads(out.read_text())["benchmarks"]
    assert row["verdict"] == "slower"
    assert row["profile_diff"] == f"profile not found: {tmp_path / 'gone' / 'base.pb.gz'}"
    assert "Traceback" not in capsys.readouterr().err


def test_zero_own_time_in_the_base_is_not_new() -> None:
    text = render_grown([("pkg.was_idle", 0, 2_000_000), ("pkg.fresh", None, 1_000_000),
                         ("pkg.grew", 1_000_000, 1_500_000)])
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert lines["pkg.was_idle"].endswith("from 0")
    assert lines["pkg.fresh"].endswith("new")
    assert lines["pkg.grew"].endswith("+50%")
