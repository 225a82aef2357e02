"""Verdicts, Holm, thresholds, too-few-samples, one-sided benchmarks, output formats, exit codes."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from profkit.bench import stats
from profkit.bench.load import load_runs
from profkit.bench.samples import pool
from profkit.bench.verdict import (
    BASE_ONLY,
    FASTER,
    NEW_ONLY,
    RAW_U,
    RUN_U,
    SLOWER,
    TOO_FEW,
    UNCHANGED,
    WELCH_SUMMARY,
    CompareOptions,
    compare,
)
from profkit.cli import main


def write_run(path: Path, data: Dict[str, List[float]], *, raw: bool = True) -> Path:
    """Write a pytest-benchmark-shaped file (raw ``data`` or summary-only) for ``data``."""
    benches = []
    for name, values in data.items():
        s = sorted(values)
        n = len(s)
        mean = sum(s) / n
        sd = (sum((v - mean) ** 2 for v in s) / (n - 1)) ** 0.5 if n > 1 else 0.0
        st = {"min": s[0], "max": s[-1], "mean": mean, "stddev": sd, "median": s[n // 2],
              "rounds": n, "q1": s[n // 4], "q3": s[3 * n // 4], "iterations": 1}
        if raw:
            st["data"] = list(values)
        benches.append({"fullname": name, "name": name.split("::")[-1], "stats": st})
    path.write_text(json.dumps({"machine_info": {"node": "ci"}, "commit_info": {"id": "abc"},
                                "datetime": "2026-01-01T00:00:00+00:00", "benchmarks": benches}))
    return path


def timings(median: float, n: int, seed: int, spread: float = 0.02) -> List[float]:
    rng = random.Random(seed)
    return [median * rng.lognormvariate(0, spread) for _ in range(n)]


def run_compare(tmp_path: Path, base: Dict[str, List[float]], new: Dict[str, List[float]],
                *args: str, raw: bool = True, capsys: Optional[pytest.CaptureFixture] = None):  # type: ignore[type-arg]
    b = write_run(tmp_path / "base.json", base, raw=raw)
    n = write_run(tmp_path / "new.json", new, raw=raw)
    out = tmp_path / "report.json"
    code = main(["bench", "compare", str(b), str(n), "--format", "json", "-o", str(out), *args])
    return code, json.loads(out.read_text()) if out.exists() else None


def rows(doc: dict) -> Dict[str, dict]:
    return {r["name"]: r for r in doc["benchmarks"]}


def test_regression_is_flagged_and_gates(tmp_path: Path) -> None:
    base = {"t::slow": timings(1e-3, 60, 1), "t::same": timings(2e-4, 60, 2)}
    new = {"t::slow": timings(1.3e-3, 60, 3), "t::same": timings(2e-4, 60, 4)}
    code, doc = run_compare(tmp_path, base, new)
    assert code == 1
    r = rows(doc)
    assert r["t::slow"]["verdict"] == SLOWER and r["t::slow"]["regression"]
    assert r["t::slow"]["change"] == pytest.approx(0.3, abs=0.03)
    assert r["t::slow"]["method"] == RAW_U
    assert r["t::same"]["verdict"] == UNCHANGED
    ps = [r["t::slow"]["p"], r["t::same"]["p"]]
    assert [r["t::slow"]["p_adjusted"], r["t::same"]["p_adjusted"]] == pytest.approx(stats.holm(ps))


def test_improvement_does_not_fail_and_fail_on_selects_gating_benchmarks(tmp_path: Path) -> None:
    base = {"t::a": timings(1e-3, 40, 1), "t::b": timings(1e-3, 40, 2)}
    new = {"t::a": timings(0.7e-3, 40, 3), "t::b": timings(1.4e-3, 40, 4)}
    code, doc = run_compare(tmp_path, base, new, "--fail-on", "::a$")
    assert code == 0
    assert rows(doc)["t::a"]["verdict"] == FASTER
    assert rows(doc)["t::b"]["verdict"] == SLOWER and not rows(doc)["t::b"]["regression"]


def test_significant_change_below_threshold_is_not_a_verdict(tmp_path: Path) -> None:
    base = {"t::a": timings(1e-3, 2000, 1, 0.01)}
    new = {"t::a": timings(1.03e-3, 2000, 2, 0.01)}
    code, doc = run_compare(tmp_path, base, new, "--threshold", "5%")
    row = rows(doc)["t::a"]
    assert code == 0 and row["verdict"] == UNCHANGED and row["p_adjusted"] < 1e-6
    assert "below the 5% threshold" in row["note"]
    code, doc = run_compare(tmp_path, base, new, "--threshold", "1%")
    assert code == 1 and rows(doc)["t::a"]["verdict"] == SLOWER


@pytest.mark.parametrize("n", [1, 3])
def test_too_few_samples_is_stated_never_significant(tmp_path: Path, n: int) -> None:
    base = {"t::a": [1.0e-3 + i * 1e-6 for i in range(n)]}
    new = {"t::a": [5.0e-3 + i * 1e-6 for i in range(n)]}  # 5x slower, but n is too small
    code, doc = run_compare(tmp_path, base, new)
    row = rows(doc)["t::a"]
    assert code == 0 and row["verdict"] == TOO_FEW
    assert "need >= 4 rounds per side to detect a difference at alpha 0.05" in row["note"]


def test_zero_samples_and_one_sided_benchmarks(tmp_path: Path) -> None:
    base = {"t::gone": timings(1e-3, 20, 1), "t::kept": timings(1e-3, 20, 2)}
    new = {"t::kept": timings(1e-3, 20, 3), "t::added": timings(1e-3, 20, 4)}
    code, doc = run_compare(tmp_path, base, new)
    r = rows(doc)
    assert code == 0
    assert r["t::gone"]["verdict"] == BASE_ONLY and r["t::added"]["verdict"] == NEW_ONLY
    assert any("one side only" in note for note in doc["notes"])
    assert doc["geomean"][0]["count"] == 1


def test_no_common_benchmark_is_an_input_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b = write_run(tmp_path / "b.json", {"t::x": timings(1e-3, 5, 1)})
    n = write_run(tmp_path / "n.json", {"t::y": timings(1e-3, 5, 1)})
    assert main(["bench", "compare", str(b), str(n)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("profkit: no benchmark is present on both sides") and "\n" not in err


def test_input_and_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    good = write_run(tmp_path / "good.json", {"t::a": timings(1e-3, 5, 1)})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text('{"name": "left-pad", "version": "1.0.0"}')
    for args in ([str(good), str(bad)], [str(other), str(good)], [str(good), str(tmp_path / "no.json")],
                 [str(good), str(good), "--threshold", "lots"], [str(good), str(good), "--alpha", "2"]):
        capsys.readouterr()
        assert main(["bench", "compare", *args]) == 2, args
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.strip()


def test_summary_only_single_files_fall_back_to_welch_and_say_so(tmp_path: Path) -> None:
    base = {"t::a": timings(1e-3, 200, 1)}
    new = {"t::a": timings(1.3e-3, 200, 2)}
    code, doc = run_compare(tmp_path, base, new, raw=False)
    row = rows(doc)["t::a"]
    assert row["method"] == WELCH_SUMMARY and row["base"]["raw"] is False
    assert code == 1 and row["verdict"] == SLOWER
    assert any(note.startswith("summary only") for note in doc["notes"])
    assert any("Welch" in note for note in doc["notes"])


def test_several_runs_per_side_use_run_medians(tmp_path: Path) -> None:
    base_files, new_files = [], []
    for i in range(6):
        # Each run (process) has its own offset: rounds within a run are not independent.
        offset = 1 + 0.1 * ((i * 7) % 3)
        base_files.append(write_run(tmp_path / f"b{i}.json", {"t::a": timings(1e-3 * offset, 50, i)}))
        new_files.append(write_run(tmp_path / f"n{i}.json",
                                   {"t::a": timings(1e-3 * (1 + 0.1 * ((i * 5) % 3)), 50, 100 + i)}))
    comparison = compare(pool(load_runs(base_files)), pool(load_runs(new_files)))
    (row,) = comparison.rows
    assert row.method == RUN_U and row.base is not None and row.base.n == 6
    assert row.verdict == UNCHANGED  # same process-level distribution: no false alarm
    forced = compare(pool(load_runs(base_files)), pool(load_runs(new_files)),
                     CompareOptions(sample_unit="round"))
    assert forced.rows[0].method == RAW_U and forced.rows[0].base.n == 300  # type: ignore[union-attr]


def test_higher_is_better_units_invert_the_direction(tmp_path: Path) -> None:
    lines = ["pkg: demo"]
    old = "\n".join(lines + [f"BenchmarkCopy-2 100 {10 + i * 0.01:.2f} ns/op {1000 - i:.0f} MB/s"
                             for i in range(8)])
    new = "\n".join(lines + [f"BenchmarkCopy-2 100 {10 + i * 0.01:.2f} ns/op {700 - i:.0f} MB/s"
                             for i in range(8)])
    (tmp_path / "old.txt").write_text(old)
    (tmp_path / "new.txt").write_text(new)
    c = compare(pool(load_runs([tmp_path / "old.txt"])), pool(load_runs([tmp_path / "new.txt"])))
    by_unit = {r.unit: r for r in c.rows}
    assert by_unit["MB/s"].verdict == SLOWER and by_unit["s"].verdict == UNCHANGED
    assert c.exit_code == 1


def test_markdown_github_and_table_outputs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    b = write_run(tmp_path / "b.json", {"t::slow": timings(1e-3, 30, 1), "t::ok": timings(1e-3, 30, 2)})
    n = write_run(tmp_path / "n.json", {"t::slow": timings(1.5e-3, 30, 3), "t::ok": timings(1e-3, 30, 4)})
    md = tmp_path / "comment.md"
    assert main(["bench", "compare", str(b), str(n), "--format", "github", "--markdown", str(md)]) == 1
    out = capsys.readouterr().out
    assert "::error title=Benchmark regression::t::slow slower +" in out
    assert "%" not in out.split("::error")[1].split("\n")[0].replace("%25", "")  # '%' escaped
    text = md.read_text()
    assert "| benchmark | base | new | change | p (Holm) | MDE | verdict |" in text
    assert "**slower**" in text and "FAIL" in text and "geomean" in text
    assert main(["bench", "compare", str(b), str(n)]) == 1
    table = capsys.readouterr().out
    assert "t::slow" in table and "slower" in table and "FAIL: 1 slower" in table


def test_zero_samples_on_one_side_is_stated(tmp_path: Path) -> None:
    b = tmp_path / "b.json"
    b.write_text(json.dumps({"machine_info": {}, "benchmarks": [
        {"fullname": "t::a", "stats": {"data": [], "rounds": 0}}]}))
    n = write_run(tmp_path / "n.json", {"t::a": timings(1e-3, 20, 1)})
    out = tmp_path / "r.json"
    assert main(["bench", "compare", str(b), str(n), "--format", "json", "-o", str(out)]) == 0
    (row,) = json.loads(out.read_text())["benchmarks"]
    assert row["verdict"] == TOO_FEW and row["note"] == "no samples on the base side"


def test_cli_and_plugin_imports_stay_light() -> None:
    import subprocess
    import sys

    code = ("import sys, profkit.cli, profkit.integrations.pytest_plugin; profkit.cli.build_parser(); "
            "print(sorted(m for m in ('scipy', 'rich', 'plotly', 'numpy', 'profkit.collect', "
            "'profkit.bench.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_large_comparisons_list_only_rows_with_a_verdict(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    base = {f"t::b{i}": timings(1e-3, 20, i) for i in range(60)}
    new = {f"t::b{i}": timings(1e-3 * (1.5 if i == 7 else 1.0), 20, 100 + i) for i in range(60)}
    b, n = write_run(tmp_path / "b.json", base), write_run(tmp_path / "n.json", new)
    assert main(["bench", "compare", str(b), str(n), "--format", "markdown"]) == 1
    text = capsys.readouterr().out
    assert "t::b7 " in text and "t::b8 " not in text
    assert "59 unchanged benchmarks not listed" in text
    assert main(["bench", "compare", str(b), str(n), "--all"]) == 1
    assert "t::b8 " in capsys.readouterr().out


def test_summary_only_corpus_runs(corpus: Path, tmp_path: Path) -> None:
    runs = sorted((corpus / "pytest-benchmark-history").glob("*.json"))
    out = tmp_path / "r.json"
    # 15 A/A runs per side, summary only: per-run medians are the samples; nothing to report.
    assert main(["bench", "compare", ",".join(map(str, runs[:15])), ",".join(map(str, runs[15:])),
                 "--format", "json", "-o", str(out)]) == 0
    doc = json.loads(out.read_text())
    (row,) = doc["benchmarks"]
    assert row["method"] == RUN_U and row["base"]["runs"] == 15 and row["base"]["raw"] is False
    assert row["verdict"] == UNCHANGED
    assert any(n.startswith("summary only") for n in doc["notes"])
    # One file per side: Welch's t-test on the summaries, flagged.
    assert main(["bench", "compare", str(runs[0]), str(runs[25]), "--format", "json", "-o", str(out)]) == 0
    (row,) = json.loads(out.read_text())["benchmarks"]
    assert row["method"] == WELCH_SUMMARY and row["base"]["n"] == 9987
