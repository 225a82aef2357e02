"""``bench ab`` exits with the code its report states: recorded runs replayed through the real CLI.

Why: in the noisy-runner experiment (docs/BENCH.md) one A/A ``bench ab`` exited 1 while the report
it had written said ``"exit_code": 0`` with every row ``~``. Cause: commit d18ac9a made the shared
``_compare`` read ``args.html``, which ``bench ab``'s namespace lacked, so after writing the report
it raised AttributeError and the CLI turned that into ``internal error`` and exit 1 (fixed by
ee199e2; the experiment's trial 12 ran in between). The benchmark command here is a script that
writes a prepared pytest-benchmark document, one per run (``base-03.json`` for base run 3), so the
whole of ``bench ab`` runs (processes, renames, the comparison, the exit code) on known data.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import pytest

from profkit.cli import main

REPLAY = '''import os, shutil, sys
part = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark-json="))
name = os.path.basename(part)[1:].replace(".json.part", ".json")  # .base-03.json.part
shutil.copyfile(os.path.join(sys.argv[1], name), part)
'''
BENCHMARKS = {"test_checksum": 8.4e-4, "test_squares": 1.39e-4, "test_join_words": 1.07e-4}


def write_runs(where: Path, runs: int, slowdown: float) -> None:
    """A/A-like runs of three benchmarks: 2 % noise between runs, 1 % between rounds, seeded."""
    rng = random.Random(13)
    where.mkdir()
    for side in ("base", "new"):
        for i in range(1, runs + 1):
            benchmarks = []
            for name, seconds in BENCHMARKS.items():
                factor = slowdown if side == "new" and name == "test_checksum" else 1.0
                run = seconds * factor * rng.gauss(1.0, 0.02)
                data = [run * rng.gauss(1.0, 0.01) for _ in range(30)]
                benchmarks.append({"name": name, "fullname": f"test_suite.py::{name}", "extra_info": {},
                                   "stats": {"data": data, "rounds": len(data)}})
            doc = {"machine_info": {"node": "replay"}, "commit_info": {}, "benchmarks": benchmarks}
            (where / f"{side}-{i:02d}.json").write_text(json.dumps(doc))


@pytest.mark.parametrize("slowdown,code", [(1.0, 0), (1.10, 1)])
def test_exit_code_is_the_reports(tmp_path: Path, capsys: pytest.CaptureFixture,  # type: ignore[type-arg]
                                  slowdown: float, code: int) -> None:
    recorded, out, report = tmp_path / "recorded", tmp_path / "runs", tmp_path / "report.json"
    write_runs(recorded, 6, slowdown)
    (tmp_path / "replay.py").write_text(REPLAY)
    tree = tmp_path / "tree"
    tree.mkdir()
    rc = main(["bench", "ab", "--base", str(tree), "--new", str(tree), "--runs", "6", "--dir", str(out),
               "--threshold", "5%", "--format", "json", "-o", str(report), "--",
               sys.executable, str(tmp_path / "replay.py"), str(recorded)])
    err = capsys.readouterr().err
    doc = json.loads(report.read_text())
    assert rc == doc["exit_code"] == code, err
    assert "internal error" not in err
    verdicts = {r["name"].split("::")[1]: r["verdict"] for r in doc["benchmarks"]}
    assert verdicts == {"test_checksum": "slower" if code else "~", "test_squares": "~", "test_join_words": "~"}
    for side in ("base", "new"):  # every run replayed its own recorded file
        for i in (1, 6):
            assert (out / f"{side}-{i:02d}.json").read_bytes() == (recorded / f"{side}-{i:02d}.json").read_bytes()
