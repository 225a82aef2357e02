"""Real pytest-benchmark runs: an injected slowdown (2x) is a regression, A/A raises nothing.

The suite (tests/testdata/bench/suite.py) is run 8 times in each of three variants, interleaved
(A, B, A', A, B, A', ...): A and A' are the unchanged code, B makes ``checksum`` do twice the work.
Twice, not 1.3x: with one other busy process on these two vCPUs, about a third of the runs came out
1.45x slower as a whole (SMT siblings), so a 30 % slowdown overlapped the slowed base runs and the
gate rightly said it could not see the threshold; how small a change the gate catches is the
experiment's business (benchmarks/bench_gate.py, docs/BENCH.md), not this end-to-end test's.
Each run is its own process, so process-to-process noise is sampled on both sides; `bench compare`
then tests per-run medians (n = 8 runs per side) at benchstat's alpha 0.05. On this VM runs are
slowed as a whole by host noise (every benchmark 1.45-1.6x, even in CPU time), from one run in six
to half of them in a clean CI run (base medians 1.0-1.1 or 1.5-1.7 ms): a 2x slowdown still
separates the sides completely, but the reported change moves with how the slowed runs fall
(+43 % once), hence its wide bounds. The A/A check uses alpha 0.01: at 0.05 an A/A comparison
of real noise raises a false alarm up to 5 % of the time by construction.
Base and slow runs also record a CPU profile per benchmark (the pytest11 plugin), so the report
can name the function whose time grew.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import pytest

from profkit.cli import main

SUITE = Path(__file__).resolve().parent.parent / "testdata" / "bench" / "suite.py"
RUNS_PER_VARIANT = 8
VARIANTS = {"base": "1.0", "slow": "2.0", "again": "1.0"}

pytestmark = pytest.mark.slow


def run_suite(workdir: Path, out: Path, slowdown: str, *extra: str) -> None:
    """Run the benchmark suite once with pytest-benchmark, writing ``--benchmark-json`` to ``out``."""
    env = dict(os.environ, PROFKIT_SLOWDOWN=slowdown)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_suite.py",
           f"--benchmark-json={out}", "--benchmark-min-rounds=15", "--benchmark-max-time=0.02",
           "--benchmark-warmup=on", "--benchmark-warmup-iterations=5",
           "--benchmark-timer=time.process_time", *extra]
    proc = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, List[Path]]:
    workdir = tmp_path_factory.mktemp("bench-suite")
    shutil.copy(SUITE, workdir / "test_suite.py")
    files: Dict[str, List[Path]] = {v: [] for v in VARIANTS}
    for i in range(RUNS_PER_VARIANT):
        for variant, slowdown in VARIANTS.items():
            out = workdir / f"{variant}{i}.json"
            profile = ("--profkit-profile", f"profiles/{variant}{i}", "--profkit-profile-seconds=0.2")
            run_suite(workdir, out, slowdown, *(profile if variant != "again" else ()))
            files[variant].append(out)
    return files


def compare_json(base: List[Path], new: List[Path], tmp_path: Path, *args: str) -> tuple:
    out = tmp_path / "result.json"
    code = main(["bench", "compare", ",".join(map(str, base)), ",".join(map(str, new)),
                 "--format", "json", "-o", str(out), *args])
    doc = json.loads(out.read_text())
    return code, {r["name"].split("::")[-1]: r for r in doc["benchmarks"]}


def test_files_hold_raw_rounds(runs: Dict[str, List[Path]]) -> None:
    doc = json.loads(runs["base"][0].read_text())
    assert {b["name"] for b in doc["benchmarks"]} == {"test_checksum", "test_squares", "test_join_words"}
    assert all(len(b["stats"]["data"]) >= 15 for b in doc["benchmarks"])


def test_injected_slowdown_is_the_only_regression(runs: Dict[str, List[Path]], tmp_path: Path) -> None:
    code, rows = compare_json(runs["base"], runs["slow"], tmp_path, "--threshold", "10%",
                              "--alpha", "0.05")
    assert code == 1
    assert rows["test_checksum"]["verdict"] == "slower", rows["test_checksum"]
    # twice the work; the bounds are wide because host noise slows whole runs by 1.45-1.6x
    # (bimodal: either side's median can land in either mode; +43 % was seen in CI)
    assert 0.2 < rows["test_checksum"]["change"] < 2.5
    assert rows["test_checksum"]["method"] == "U test on run medians"
    assert rows["test_squares"]["verdict"] == "~", rows["test_squares"]
    assert rows["test_join_words"]["verdict"] == "~", rows["test_join_words"]


def test_aa_pair_raises_nothing(runs: Dict[str, List[Path]], tmp_path: Path) -> None:
    code, rows = compare_json(runs["base"], runs["again"], tmp_path, "--threshold", "10%",
                              "--alpha", "0.01")
    assert code == 0
    assert all(r["verdict"] == "~" for r in rows.values()), rows


def test_markdown_for_the_pr_comment(runs: Dict[str, List[Path]], tmp_path: Path,
                                     capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    code = main(["bench", "compare", ",".join(map(str, runs["base"])), ",".join(map(str, runs["slow"])),
                 "--format", "markdown", "--threshold", "10%", "--alpha", "0.05"])
    text = capsys.readouterr().out
    assert code == 1
    # Markdown escapes names: test_checksum is written test\_checksum (renders as test_checksum)
    assert "test\\_checksum" in text and "**slower**" in text and "n counts runs" in text


def test_profiles_name_the_function_that_got_slower(runs: Dict[str, List[Path]],
                                                    capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    code = main(["bench", "compare", ",".join(map(str, runs["base"])), ",".join(map(str, runs["slow"])),
                 "--threshold", "10%", "--alpha", "0.05", "--profiles"])
    text = capsys.readouterr().out
    assert code == 1
    section = text.split("functions whose time grew most in test_suite.py::test_checksum:")[1]
    grown = [line for line in section.splitlines() if line.strip()][1]  # first row under the header
    assert grown.startswith("test_suite._mix "), section
    assert "new in this run: test_suite._extra_mixing" in section


def test_single_files_fall_back_to_rounds(runs: Dict[str, List[Path]], tmp_path: Path) -> None:
    code, rows = compare_json(runs["base"][:1], runs["slow"][:1], tmp_path, "--threshold", "10%")
    assert rows["test_checksum"]["method"] == "U test on rounds"
    assert rows["test_checksum"]["base"]["n"] >= 15
