"""The gate's honesty: blind gates, single runs, summary-only means, option parsing, escaping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest
from test_compare import rows, run_compare, timings, write_run

from profkit.bench import report
from profkit.bench.load import load_runs
from profkit.bench.samples import pool
from profkit.bench.verdict import FASTER, RUN_U, SLOWER, TOO_FEW, UNCHANGED, WELCH_SUMMARY, compare
from profkit.bench.verdict_notes import SINGLE_RUN
from profkit.cli import main


def _runs(tmp_path: Path, prefix: str, per_run: List[Dict[str, List[float]]]) -> str:
    return ",".join(str(write_run(tmp_path / f"{prefix}{i}.json", d)) for i, d in enumerate(per_run))


def _four_runs_two_benchmarks(tmp_path: Path) -> List[str]:
    """4 runs per side, 2 benchmarks: t::slow +66 % in every run, t::same unchanged."""
    base = [{"t::slow": timings(1e-3, 20, i), "t::same": timings(1e-3, 20, 50 + i)} for i in range(4)]
    new = [{"t::slow": timings(1.66e-3, 20, 10 + i), "t::same": timings(1e-3, 20, 60 + i)}
           for i in range(4)]
    return [_runs(tmp_path, "b", base), _runs(tmp_path, "n", new)]


def test_rows_that_cannot_pass_holm_are_too_few_and_the_gate_says_it_could_not_decide(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b, n = _four_runs_two_benchmarks(tmp_path)
    out = tmp_path / "r.json"
    # n = 4 runs per side reaches p = 0.0286 <= 0.05 alone, but Holm across 2 needs 0.025 first.
    assert main(["bench", "compare", b, n, "--format", "json", "-o", str(out)]) == 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("profkit: warning: gate is blind: 2 gating benchmark(s) can't reach "
                          "significance with n=4 runs per side; need >= 5 per side") and "\n" not in err
    assert "could not decide on 1" in err and "t::slow +6" in err
    doc = json.loads(out.read_text())
    r = rows(doc)
    assert r["t::slow"]["verdict"] == TOO_FEW and r["t::slow"]["undecided"]
    assert "with 2 benchmarks in the Holm family" in r["t::slow"]["note"]
    assert r["t::slow"]["p_adjusted"] is None and r["t::same"]["verdict"] == TOO_FEW
    assert doc["gate"] == "undecided" and doc["needed_per_side"] == 5
    assert any("the gate could not decide" in note for note in doc["notes"])
    assert main(["bench", "compare", b, n, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "UNDECIDED" in md and "too few samples (gate could not decide)" in md
    assert main(["bench", "compare", b, n, "--format", "github"]) == 0
    assert "::warning title=Benchmark gate could not decide::t::slow" in capsys.readouterr().out
    assert main(["bench", "compare", b, n, "--strict"]) == 2
    assert "UNDECIDED" in capsys.readouterr().out


def test_a_single_benchmark_with_four_runs_per_side_can_gate(tmp_path: Path) -> None:
    base = _runs(tmp_path, "b", [{"t::slow": timings(1e-3, 20, i)} for i in range(4)])
    new = _runs(tmp_path, "n", [{"t::slow": timings(1.66e-3, 20, 10 + i)} for i in range(4)])
    out = tmp_path / "r.json"
    assert main(["bench", "compare", base, new, "--format", "json", "-o", str(out)]) == 1
    (row,) = json.loads(out.read_text())["benchmarks"]
    assert row["verdict"] == SLOWER and row["p_adjusted"] == pytest.approx(2 / 70)


def test_identical_constants_stay_out_of_the_holm_family(tmp_path: Path) -> None:
    # Go -count 4: ns/op 4 lines apart (exact p = 0.0286), B/op 64 on every line of both sides.
    def lines(ns: float) -> str:
        return "\n".join(["pkg: demo"] + [f"BenchmarkX-2 100 {ns + i:.1f} ns/op 64 B/op" for i in range(4)])

    (tmp_path / "old.txt").write_text(lines(100))
    (tmp_path / "new.txt").write_text(lines(150))
    c = compare(pool(load_runs([tmp_path / "old.txt"])), pool(load_runs([tmp_path / "new.txt"])))
    by_unit = {r.unit: r for r in c.rows}
    assert by_unit["B/op"].verdict == UNCHANGED and "left out of the Holm family" in by_unit["B/op"].note
    assert by_unit["s"].verdict == SLOWER and by_unit["s"].p_adjusted == pytest.approx(2 / 70)


def test_single_run_per_side_is_flagged_and_several_runs_use_run_medians(tmp_path: Path) -> None:
    code, doc = run_compare(tmp_path, {"t::a": timings(1e-3, 200, 1)}, {"t::a": timings(1.24e-3, 200, 2)})
    assert code == 1 and rows(doc)["t::a"]["single_run"] is True
    assert SINGLE_RUN in doc["notes"]
    # Two runs per side: the run is the unit (run-to-run noise inside the test), too few to judge.
    base = _runs(tmp_path, "b", [{"t::a": timings(1e-3, 200, i)} for i in range(2)])
    new = _runs(tmp_path, "n", [{"t::a": timings(1.24e-3, 200, 10 + i)} for i in range(2)])
    out = tmp_path / "two.json"
    assert main(["bench", "compare", base, new, "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    (row,) = doc["benchmarks"]
    assert row["method"] == RUN_U and row["verdict"] == TOO_FEW and not row["single_run"]
    assert "need >= 4 runs per side" in row["note"] and SINGLE_RUN not in doc["notes"]


def _summary_file(path: Path, mean: float, median: float) -> str:
    st = {"min": median / 2, "max": mean * 10, "mean": mean, "stddev": mean / 20, "rounds": 1000,
          "median": median, "q1": median * 0.9, "q3": median * 1.1}
    path.write_text(json.dumps({"machine_info": {}, "commit_info": {},
                                "benchmarks": [{"name": "t", "fullname": "t.py::t", "stats": st}]}))
    return str(path)


def test_summary_only_rows_report_the_change_of_the_means_they_test(tmp_path: Path) -> None:
    b = _summary_file(tmp_path / "b.json", mean=2.0e-3, median=1.0e-3)
    n = _summary_file(tmp_path / "n.json", mean=1.3e-3, median=1.2e-3)
    out = tmp_path / "r.json"
    assert main(["bench", "compare", b, n, "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    (row,) = doc["benchmarks"]
    assert row["method"] == WELCH_SUMMARY and row["verdict"] == FASTER
    assert row["change"] == pytest.approx(-0.35) and row["base"]["center"] == "mean"
    lo, hi = row["base"]["ci"]  # mean ± t·sd/√n = 2ms ± 1.96 · 0.1ms / √1000
    assert lo == pytest.approx(2.0e-3 - 6.2e-6, rel=1e-3) and hi > 2.0e-3
    assert not any(note.startswith("± ∞") for note in doc["notes"])
    text = report.render_table(compare(pool(load_runs([b])), pool(load_runs([n]))))
    assert "mean 2ms" in text and "Welch (means)" in text


def test_markdown_escapes_html_and_markdown_in_names(tmp_path: Path) -> None:
    name = "t::test_weird[<script>x</script> *a* _b_ `c` [d](e) & |]"
    b = write_run(tmp_path / "b.json", {name: timings(1e-3, 30, 1)})
    n = write_run(tmp_path / "n.json", {name: timings(1.5e-3, 30, 2)})
    c = compare(pool(load_runs([b])), pool(load_runs([n])))
    md = report.render_markdown(c, {name: "f  1ms"})
    assert "<script>" not in md and "&lt;script&gt;x&lt;/script&gt;" in md
    assert "\\*a\\* \\_b\\_ \\`c\\` \\[d\\](e) &amp; \\|" in md
    assert "<code>t::test_weird[&lt;script&gt;x&lt;/script&gt;" in md


@pytest.mark.parametrize("text,expected", [("5%", 0.05), ("5", 0.05), ("0.5%", 0.005), ("0", 0.0),
                                           ("1", 0.01), ("12.5%", 0.125)])
def test_threshold_is_a_percentage(text: str, expected: float) -> None:
    from profkit.cli.cmd_bench import parse_threshold

    assert parse_threshold(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["0.5", "0.99", "0.05", "-1%", "lots"])
def test_ambiguous_or_bad_threshold_exits_2(tmp_path: Path, text: str,
                                            capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    good = write_run(tmp_path / "g.json", {"t::a": timings(1e-3, 5, 1)})
    assert main(["bench", "compare", str(good), str(good), "--threshold", text]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "threshold" in err
    if text in ("0.5", "0.99", "0.05"):
        assert "ambiguous" in err


def test_fail_on_that_matches_nothing_is_an_error(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    good = write_run(tmp_path / "g.json", {"t::alpha": timings(1e-3, 9, 1), "t::beta": timings(1e-3, 9, 2)})
    assert main(["bench", "compare", str(good), str(good), "--fail-on", "gamma"]) == 2
    err = capsys.readouterr().err.strip()
    assert "'gamma' matches no benchmark" in err and "t::alpha, t::beta" in err and "\n" not in err
    assert main(["bench", "compare", str(good), str(good), "--fail-on", "alpha"]) == 0


def test_one_sided_benchmarks_get_a_github_notice(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b = write_run(tmp_path / "b.json", {"t::kept": timings(1e-3, 9, 1), "t::gone": timings(1e-3, 9, 2)})
    n = write_run(tmp_path / "n.json", {"t::kept": timings(1e-3, 9, 3), "t::added": timings(1e-3, 9, 4)})
    assert main(["bench", "compare", str(b), str(n), "--format", "github"]) == 0
    out = capsys.readouterr().out
    assert "::notice title=Benchmark removed (base only)::t::gone" in out
    assert "::notice title=Benchmark added (new only)::t::added" in out


def test_noise_rejects_the_same_file_twice(tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    a = write_run(tmp_path / "a.json", {"t::a": timings(1e-3, 9, 1)})
    assert main(["bench", "noise", str(a), str(tmp_path / "." / "a.json")]) == 2
    assert "given twice" in capsys.readouterr().err
