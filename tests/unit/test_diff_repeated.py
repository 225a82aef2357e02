"""The repeated-profile diff: normalisation, scipy's tests with Holm, statuses, outputs, CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest
from ops_profiles import cpu_profile
from scipy import stats as sps

from profkit.bench.diff_render import format_markdown, format_text
from profkit.bench.diffstats import repeated_diff
from profkit.cli import main
from profkit.errors import InputError
from profkit.model import FrameKey, ProfileBuilder
from profkit.model.codec import save
from profkit.options import ViewOptions
from profkit.render.registry import produce
from profkit.report import ReportRequest

# Per-run sample counts: "hot" grows ~50 %, "steady" does not, "old" vanishes, "fresh"
# appears. The new runs last twice as long with twice the samples of a steady rate.
BASE_RUNS = [{"hot": 100, "steady": 50, "old": 7}, {"hot": 104, "steady": 53, "old": 5},
             {"hot": 97, "steady": 48, "old": 6}]
NEW_RUNS = [{"hot": 300, "steady": 101, "fresh": 9}, {"hot": 306, "steady": 98, "fresh": 11},
            {"hot": 295, "steady": 102, "fresh": 8}]


def _save(path: Path, counts: Dict[str, int], seconds: int) -> str:
    p = cpu_profile({(f"m.{name}", "m.main"): n for name, n in counts.items()},
                    duration_nanos=seconds * 1_000_000_000)
    save(p, path)
    return str(path)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[str]]:
    d = tmp_path_factory.mktemp("runs")
    return {
        "base": [_save(d / f"a{i}.pb.gz", c, 1) for i, c in enumerate(BASE_RUNS)],
        "new": [_save(d / f"b{i}.pb.gz", c, 2) for i, c in enumerate(NEW_RUNS)],
    }


def _diff(runs: Dict[str, List[str]], **kw: object):  # type: ignore[no-untyped-def]
    opts = kw.pop("options", ViewOptions())
    req = ReportRequest(runs["new"], diff_base=runs["base"], options=opts)  # type: ignore[arg-type]
    return repeated_diff(req, **kw)  # type: ignore[arg-type]


def test_per_second_values_and_welch_with_holm_match_scipy(runs: Dict[str, List[str]]) -> None:
    d = _diff(runs)
    assert d.per == "second" and d.test == "welch"
    rows = {r.name: r for r in d.rows}
    ns = 10_000_000  # one sample = 10 ms of CPU
    hot_base = [c["hot"] * ns / 1 for c in BASE_RUNS]
    hot_new = [c["hot"] * ns / 2 for c in NEW_RUNS]
    assert rows["m.hot"].base_values == pytest.approx(hot_base)
    assert rows["m.hot"].new_values == pytest.approx(hot_new)
    assert rows["m.hot"].p_value == pytest.approx(
        sps.ttest_ind(hot_base, hot_new, equal_var=False).pvalue)
    raw = [r.p_value for r in d.rows]
    order = sorted(range(len(raw)), key=lambda i: raw[i])
    running, adjusted = 0.0, [0.0] * len(raw)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(raw) - rank) * raw[i]))
        adjusted[i] = running
    assert [r.p_adjusted for r in d.rows] == pytest.approx(adjusted)
    assert rows["m.hot"].significant and not rows["m.steady"].significant
    assert abs(rows["m.steady"].delta_flat) < 0.05 * rows["m.steady"].base_flat  # per second


def test_new_and_vanished_functions_are_marked(runs: Dict[str, List[str]]) -> None:
    rows = {r.name: r for r in _diff(runs).rows}
    assert rows["m.fresh"].status == "new" and rows["m.fresh"].base_flat == 0
    assert rows["m.old"].status == "vanished" and rows["m.old"].new_flat == 0
    assert rows["m.hot"].status == rows["m.main"].status == "changed"


def test_rows_sorted_by_size_of_change_and_cum_is_tested_with_cum(
    runs: Dict[str, List[str]]
) -> None:
    d = _diff(runs)
    deltas = [abs(r.delta_flat) for r in d.rows]
    assert deltas == sorted(deltas, reverse=True) and d.rows[0].name == "m.hot"
    c = _diff(runs, options=ViewOptions(cum=True))
    main_row = next(r for r in c.rows if r.name == "m.main")
    assert main_row.base_values == pytest.approx(
        [sum(x.values()) * 10_000_000 for x in BASE_RUNS])


def test_per_total_is_a_share_and_auto_picks_it_without_durations(
    runs: Dict[str, List[str]], tmp_path: Path
) -> None:
    d = _diff(runs, per="total")
    hot = next(r for r in d.rows if r.name == "m.hot")
    assert hot.base_values[0] == pytest.approx(100 / 157)
    timeless = [_save(tmp_path / f"t{i}.pb.gz", c, 0) for i, c in enumerate(BASE_RUNS)]
    d = repeated_diff(ReportRequest(runs["new"], diff_base=timeless))
    assert d.per == "total"
    with pytest.raises(InputError, match="records no duration"):
        repeated_diff(ReportRequest(runs["new"], diff_base=timeless), per="second")


def test_mann_whitney_with_three_runs_says_it_cannot_reach_alpha(
    runs: Dict[str, List[str]]
) -> None:
    d = _diff(runs, test="mwu")
    hot = next(r for r in d.rows if r.name == "m.hot")
    assert hot.p_value == pytest.approx(
        sps.mannwhitneyu(hot.base_values, hot.new_values, alternative="two-sided").pvalue)
    assert not hot.significant and "cannot reach p <= 0.05" in d.notes[0]


def test_one_profile_a_side_has_no_test(runs: Dict[str, List[str]]) -> None:
    d = repeated_diff(ReportRequest(runs["new"][:1], diff_base=runs["base"][:1]))
    assert all(r.p_value is None and not r.significant for r in d.rows)
    assert "no significance test" in format_text(d)


def test_text_json_markdown_and_the_registry_agree(
    runs: Dict[str, List[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diff", "--base", *runs["base"], "--new", *runs["new"]]
    assert main([*argv, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    via_registry = produce(ReportRequest(runs["new"], diff_base=runs["base"],
                                         kind="repeated_diff", format="json"))
    assert got == json.loads(via_registry)
    hot = next(r for r in got["rows"] if r["name"] == "m.hot")
    assert set(hot) >= {"base", "new", "delta", "delta_pct", "p_value", "significant", "status"}
    assert hot["delta_pct"] == pytest.approx((hot["new"] / hot["base"] - 1) * 100)
    assert got["per"] == "second" and got["correction"] == "holm"
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Values: flat, mean per second" in text
    line = next(ln for ln in text.splitlines() if ln.endswith("m.hot"))
    assert " * changed" in line and "+49.7%" in line
    assert main([*argv, "--markdown", "-n", "2"]) == 0
    md = capsys.readouterr().out
    assert md.count("\n| ") == 4 and "Showing top 2 functions out of 5" in md


def test_hostile_names_are_escaped_in_text_and_markdown(tmp_path: Path) -> None:
    paths = []
    for i in range(2):
        b = ProfileBuilder([("samples", "count")], default_sample_type="samples")
        b.add([FrameKey("evil\x1b[2J|name")], [3 + i])
        paths.append(str(tmp_path / f"e{i}.pb.gz"))
        save(b.build(), paths[-1])
    d = repeated_diff(ReportRequest(paths[1:], diff_base=paths[:1]), per="raw")
    assert "\x1b" not in format_text(d) and "\x1b" not in format_markdown(d)
    assert "evil\\\\x1b[2J\\|name" in format_markdown(d)  # Markdown shows \\ as \


def test_the_pairwise_form_still_prints_top_of_the_diff(
    runs: Dict[str, List[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = runs["base"][0], runs["new"][0]
    assert main(["diff", a, b]) == 0
    pairwise = capsys.readouterr().out
    assert main(["top", "--diff-base", a, b]) == 0
    assert pairwise == capsys.readouterr().out and "flat%" in pairwise


@pytest.mark.parametrize("argv, message", [
    (["a", "b", "--base", "c", "--new", "d"], "not both"),
    (["--base", "c"], "needs both"),
    (["onlyone"], "two profiles"),
    (["--base", "c", "--new", "d", "--alpha", "2"], "--alpha"),
])
def test_usage_errors_are_one_line_exit_2(
    argv: List[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_incompatible_inputs_are_one_line_exit_1(
    runs: Dict[str, List[str]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = ProfileBuilder([("alloc_space", "bytes")], default_sample_type="alloc_space")
    b.add([FrameKey("m.f")], [10])
    heap = str(tmp_path / "heap.pb.gz")
    save(b.build(), heap)
    assert main(["diff", "--base", *runs["base"], "--new", heap]) == 1
    err = capsys.readouterr().err
    assert heap in err and "sample types differ" in err and err.count("\n") == 1
    assert main(["diff", "--base", str(tmp_path / "missing.pb.gz"), "--new", heap]) == 1
    assert "missing.pb.gz" in capsys.readouterr().err
