"""A/A calibration on the real corpus; change points and the plotly chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profkit.bench.history import build_history, find_change_points, sparkline
from profkit.bench.load import load_runs
from profkit.bench.samples import BenchResult, BenchRun, Summary
from profkit.cli import main
from profkit.errors import InputError


def test_noise_on_corpus_suggests_a_threshold_that_silences_most_aa_pairs(
        corpus: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    assert main(["bench", "noise", str(corpus / "pytest-benchmark-history"), "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == 30
    (bench,) = doc["benchmarks"]
    # Summary-only corpus: compare judges single-run pairs on their means (Welch), so the noise is
    # that of the means, which move more between runs than medians (max 25 % here, medians 7 %).
    assert 0.1 < bench["p95_change"] <= bench["max_change"] < 0.3
    assert doc["suggested_threshold"] >= bench["p95_change"]
    # Without a threshold the per-round test calls many A/A pairs significant; with it, few.
    assert doc["pairs_flagged_without_threshold"] > 4 * doc["pairs_flagged_with_suggestion"]
    assert doc["pairs_flagged_with_suggestion"] <= 0.1 * doc["pairs_tested"]


def test_noise_needs_two_runs(corpus: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    one = sorted((corpus / "pytest-benchmark-history").iterdir())[0]
    assert main(["bench", "noise", str(one)]) == 2
    assert "at least 2 runs" in capsys.readouterr().err


def _run(i: int, median: float) -> BenchRun:
    summary = Summary(100, median, median, median * 0.01, median * 0.9, median * 1.1)
    return BenchRun(f"run{i}.json", "pytest-benchmark",
                    [BenchResult("t::a", "s", [], summary)],
                    datetime=f"2026-01-{i + 1:02d}T00:00:00+00:00", commit=f"c{i:02d}")


def test_change_point_found_where_the_level_steps() -> None:
    noise = [0.0, 0.01, -0.01, 0.0, 0.02, -0.02, 0.0, 0.01, -0.01, 0.01]
    levels = [1.0 + e for e in noise] + [1.3 + e for e in noise]
    (cp,) = build_history([_run(i, v * 1e-3) for i, v in enumerate(levels)])[0].change_points
    assert cp.index == 10 and cp.commit == "c10" and cp.change == pytest.approx(0.3, abs=0.02)


def test_no_change_point_on_the_aa_corpus_or_a_single_outlier(corpus: Path) -> None:
    history = build_history(load_runs([corpus / "pytest-benchmark-history"]))
    assert [s.change_points for s in history] == [[]]
    assert find_change_points([1.0] * 6 + [2.0] + [1.0] * 6) == []


def test_history_cli_writes_a_self_contained_chart(corpus: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    out = tmp_path / "trend.html"
    assert main(["bench", "history", str(corpus / "pytest-benchmark-history"), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "30 runs" in text and "no change point" in text
    html = out.read_text()
    assert "<script" in html and "test_xfast_parametrized" in html
    assert '<script src="http' not in html and "<script src='http" not in html
    assert len(html) > 1_000_000  # plotly.js is inlined: opens offline


def test_history_needs_runs() -> None:
    with pytest.raises(InputError):
        build_history([])
    assert sparkline([1, 1, 1]) == "▁▁▁"


def test_history_keeps_machines_apart(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    # Two machines in pytest-benchmark's storage layout, interleaved in time, 2x apart in speed:
    # one mixed series would zig-zag and hide that neither machine changed.
    for i in range(12):
        for machine, median in (("Linux-fast", 1e-3), ("Darwin-slow", 2e-3)):
            d = tmp_path / ".benchmarks" / machine
            d.mkdir(parents=True, exist_ok=True)
            st = {"median": median, "mean": median, "stddev": 0.0, "min": median, "max": median,
                  "rounds": 10}
            (d / f"{i + 1:04d}_c{i}_202601{i + 1:02d}_000000.json").write_text(json.dumps({
                "machine_info": {"node": "same-node"}, "datetime": f"2026-01-{i + 1:02d}T00:00:00",
                "benchmarks": [{"fullname": "t::a", "stats": st}]}))
    history = build_history(load_runs([tmp_path / ".benchmarks"]))
    assert [(s.name, s.machine, len(s.points)) for s in history] == [
        ("t::a @ Darwin-slow", "Darwin-slow", 12), ("t::a @ Linux-fast", "Linux-fast", 12)]
    assert all(len({p.median for p in s.points}) == 1 for s in history)
    assert [p.index for p in history[0].points] == list(range(12))
    (only,) = build_history(load_runs([tmp_path / ".benchmarks"]), machine="Linux-fast")
    assert only.name == "t::a" and only.points[0].median == 1e-3
    assert main(["bench", "history", str(tmp_path / ".benchmarks"), "--machine", "nope"]) == 2
    assert "machines: 'Darwin-slow', 'Linux-fast'" in capsys.readouterr().err
