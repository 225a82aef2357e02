"""Runs of the instruction mode carry their unit; seconds and instructions are never mixed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List

import pytest
from test_compare import timings, write_run

from profkit.bench.load import load_run
from profkit.bench.report import format_value
from profkit.cli import main


def write_counts(path: Path, data: Dict[str, List[float]]) -> Path:
    """A run as ``pytest --profkit-instructions`` writes it (extra_info names the unit)."""
    write_run(path, data)
    doc = json.loads(path.read_text())
    for bench in doc["benchmarks"]:
        bench["extra_info"] = {"profkit_unit": "instructions"}
    doc["profkit"] = {"unit": "instructions"}
    path.write_text(json.dumps(doc))
    return path


def test_instruction_runs_load_with_their_unit(tmp_path: Path) -> None:
    run = load_run(write_counts(tmp_path / "i.json", {"t::a": [1000.0, 1001.0, 1000.0]}))
    assert [r.unit for r in run.results] == ["instructions"]
    assert format_value(13_798_714, "instructions") == "13.8M instr"
    assert format_value(950, "instructions") == "950 instr"


@pytest.mark.parametrize("command", ["compare", "history", "noise"])
def test_seconds_and_instructions_never_mix(tmp_path: Path, command: str,
                                            capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    secs = write_run(tmp_path / "secs.json", {"t::a": timings(1e-3, 10, 1)})
    counts = write_counts(tmp_path / "counts.json", {"t::a": [1000.0] * 10})
    out = tmp_path / "report.json"
    files = [str(counts), str(secs)]
    argv = ["bench", command, *files] + (["--format", "json", "-o", str(out)] if command == "compare" else [])
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "never compare seconds with instructions" in err
    assert "secs.json holds timings (seconds)" in err and not out.exists()
