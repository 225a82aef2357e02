"""Merged runs of identical samples (the walk for messages > 16 MiB) give exactly the
report ``go tool pprof`` computes from every sample: the real tool is the anchor.
"""

from __future__ import annotations

import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from profkit.model._schema import ProfileMessage
from profkit.model.wirescan import SCAN_THRESHOLD

pytestmark = [pytest.mark.go, pytest.mark.slow]


def _field(stack: list[int], values: list[int], thread: int = 0) -> bytes:
    m = ProfileMessage()
    labels = [{"key": 7, "str": 7 + thread}] if thread else []
    m.sample.add(location_id=stack, value=values, label=labels)
    return bytes(m.SerializeToString())


@pytest.fixture(scope="module")
def runs_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    m = ProfileMessage()
    m.string_table.extend(["", "samples", "count", "cpu", "nanoseconds", "main", "work",
                           "thread", "a", "b", "leaf", "io"])
    m.sample_type.add(type=1, unit=2)
    m.sample_type.add(type=3, unit=4)
    m.period_type.type, m.period_type.unit, m.period = 3, 4, 10_000_000
    for i, name in enumerate([5, 6, 10, 11], 1):
        m.function.add(id=i, name=name)
        m.location.add(id=i, line=[{"function_id": i, "line": i}])
    parts = [
        (_field([3, 2, 1], [1, 10_000_000]), 600_000),
        (_field([4, 1], [1, 10_000_000], thread=1), 200_000),
        (_field([2, 1], [2, 20_000_000]), 1),           # a lone sample between runs
        (_field([3, 2, 1], [1, 10_000_000]), 300_000),  # the first stack again
        (_field([4, 2, 1], [3, 30_000_000], thread=2), 200_000),
        (_field([1], [1, 10_000_000]), 1),
    ]
    path = tmp_path_factory.mktemp("runs") / "runs.pb.gz"
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    size = 0
    with open(path, "wb") as f:
        head = bytes(m.SerializeToString())
        f.write(comp.compress(head))
        size += len(head)
        for field, copies in parts:
            block = field * copies
            size += len(block)
            f.write(comp.compress(block))
        f.write(comp.flush())
    assert size > SCAN_THRESHOLD  # the walk (and the merge) is what is tested
    return path


@pytest.mark.parametrize("args", [["-sample_index=cpu"], ["-tagfocus=thread=b"]])
def test_top_of_merged_runs_matches_go(runs_profile: Path, go_pprof, args: list[str]) -> None:  # type: ignore[no-untyped-def]
    ours = [a.replace("-sample_index=", "--sample-index=").replace("-tagfocus=", "--tagfocus=")
            for a in args]
    proc = subprocess.run([sys.executable, "-m", "profkit", "top", *ours, str(runs_profile)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == go_pprof("-top", *args, str(runs_profile)).stdout


def test_the_runs_were_merged(runs_profile: Path) -> None:
    import json

    proc = subprocess.run([sys.executable, "-m", "profkit", "info", "--json", str(runs_profile)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["samples"] == 6  # 1.3 M samples on the wire, one per run
    assert info["totals"] == {"samples": 600_000 + 200_000 + 2 + 300_000 + 600_000 + 1,
                              "cpu": (600_000 + 200_000 + 2 + 300_000 + 600_000 + 1) * 10_000_000}
