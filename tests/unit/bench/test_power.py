"""Minimum detectable effect: checked against scipy's own U test on shifted samples."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path
from typing import List

import pytest
from scipy.stats import mannwhitneyu, ttest_ind_from_stats
from test_compare import timings, write_run

from profkit.bench import power
from profkit.cli import main


def _noisy(n: int, seed: int, spread: float) -> List[float]:
    rng = random.Random(seed)
    return [1e-3 * (1 + rng.gauss(0, spread)) for _ in range(n)]


@pytest.mark.parametrize("n,spread,alpha", [(5, 0.01, 0.05), (7, 0.05, 0.05 / 3), (12, 0.03, 0.01),
                                            (30, 0.02, 0.05)])
def test_mde_is_where_the_u_test_turns_significant(n: int, spread: float, alpha: float) -> None:
    base, new = _noisy(n, 1, spread), _noisy(n, 2, spread)
    d = power.mde_u(base, new, alpha)
    assert 0 < d < 1
    b = [v / statistics.median(base) for v in base]
    m = statistics.median(new)
    p_below = mannwhitneyu(b, [v / m * (1 + d * 0.98) for v in new]).pvalue
    p_above = mannwhitneyu(b, [v / m * (1 + d * 1.02) for v in new]).pvalue
    assert p_below > alpha >= p_above


def test_mde_grows_with_noise_and_shrinks_with_samples() -> None:
    quiet = power.mde_u(_noisy(7, 1, 0.01), _noisy(7, 2, 0.01), 0.05)
    loud = power.mde_u(_noisy(7, 1, 0.05), _noisy(7, 2, 0.05), 0.05)
    many = power.mde_u(_noisy(40, 1, 0.05), _noisy(40, 2, 0.05), 0.05)
    assert quiet < loud and many < loud


def test_higher_is_better_looks_for_a_drop() -> None:
    base, new = _noisy(8, 3, 0.02), _noisy(8, 4, 0.02)
    d = power.mde_u(base, new, 0.05, higher_is_better=True)
    b = [v / statistics.median(base) for v in base]
    m = statistics.median(new)
    assert mannwhitneyu(b, [v / m * (1 - d * 1.02) for v in new]).pvalue <= 0.05
    assert mannwhitneyu(b, [v / m * (1 - d * 0.98) for v in new]).pvalue > 0.05


def test_unreachable_and_noise_free() -> None:
    assert power.mde_u([1.0] * 3, [1.0] * 3, 0.05) == math.inf  # n=3 per side: p >= 0.1
    assert power.critical_u(3, 3, 0.05) == -1
    assert power.mde_u([5.0] * 6, [5.0] * 6, 0.05) < 1e-9  # counts that never move


def test_welch_mde_matches_scipy() -> None:
    d = power.mde_welch(1.0, 0.05, 20, 0.05, 20, 0.05)
    assert ttest_ind_from_stats(1.0, 0.05, 20, 1 + d * 1.01, 0.05, 20, equal_var=False).pvalue < 0.05
    assert ttest_ind_from_stats(1.0, 0.05, 20, 1 + d * 0.99, 0.05, 20, equal_var=False).pvalue > 0.05


def _sides(tmp_path: Path, spread: float) -> List[str]:
    sides = []
    for side, seed in (("b", 0), ("n", 100)):
        files = [str(write_run(tmp_path / f"{side}{i}.json",
                               {"t::noisy": timings(1e-3, 20, seed + i, spread)}))
                 for i in range(6)]
        sides.append(",".join(files))
    return sides


def test_a_gate_that_cannot_see_the_threshold_says_so_in_every_format(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b, n = _sides(tmp_path, spread=0.02)
    # run medians of lognormal(0.02) rounds with a per-run shift: make the runs noisy
    for i, path in enumerate(n.split(",") + b.split(",")):
        doc = json.loads(Path(path).read_text())
        factor = 1 + (0.12 if i % 2 else -0.12)
        doc["benchmarks"][0]["stats"]["data"] = [v * factor for v in doc["benchmarks"][0]["stats"]["data"]]
        Path(path).write_text(json.dumps(doc))
    out = tmp_path / "r.json"
    assert main(["bench", "compare", b, n, "--format", "json", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "gate cannot see the 5% threshold on 1 gating benchmark(s)" in err
    assert len([ln for ln in err.splitlines() if "cannot see" in ln]) == 1
    doc = json.loads(out.read_text())
    row = doc["benchmarks"][0]
    assert doc["sees_threshold"] is False and row["sees_threshold"] is False and row["mde"] > 0.05
    md = tmp_path / "c.md"
    assert main(["bench", "compare", b, n, "--format", "github", "--markdown", str(md)]) == 0
    gh = capsys.readouterr().out
    assert "::warning title=Benchmark gate cannot see the threshold::t::noisy" in gh
    text = md.read_text()
    assert text.startswith("### :warning:") and "cannot see the threshold on 1" in text
    assert "gate cannot see the 5% threshold" in text
    assert main(["bench", "compare", b, n, "--strict"]) == 2
    table = capsys.readouterr()
    assert "MDE" in table.out and "(--strict: exit 2)" in table.err


def test_quiet_runs_see_the_threshold(tmp_path: Path) -> None:
    b, n = _sides(tmp_path, spread=0.005)
    out = tmp_path / "r.json"
    assert main(["bench", "compare", b, n, "--strict", "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["sees_threshold"] is True and doc["benchmarks"][0]["mde"] < 0.05
