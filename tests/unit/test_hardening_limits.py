"""Decoding limits (profkit.model.limits): hostile profiles answer in bounded time and memory.

Each CLI case runs ``profkit`` in a fresh wrapper process whose RUSAGE_CHILDREN is
only that run, and asserts exit code, one stderr line, no traceback, and peak RSS.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path
from typing import Dict, Optional

import pytest

from profkit.analysis.stacks import from_message
from profkit.model import codec
from profkit.model._schema import ProfileMessage
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.limits import DEFAULTS, ENV, LimitError, current_limits

_WRAPPER = (
    "import json, resource, subprocess, sys\n"
    "p = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=60)\n"
    "print(json.dumps({'rc': p.returncode, 'out': p.stdout, 'err': p.stderr,\n"
    "  'rss_mb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))\n"
)
GB = 1024


def run_profkit(*args: str, env: Optional[Dict[str, str]] = None) -> Dict[str, object]:
    """Run ``profkit ARGS`` (via a wrapper measuring its peak RSS in MB) and return the result."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("PROFKIT_MAX")}
    full_env.update(env or {})
    out = subprocess.run(
        [sys.executable, "-c", _WRAPPER, sys.executable, "-m", "profkit", *args],
        capture_output=True, text=True, env=full_env, timeout=90, check=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def assert_one_line_error(r: Dict[str, object], *words: str) -> None:
    err = str(r["err"])
    assert r["rc"] == 1, r
    assert err.count("\n") == 1 and err.startswith("profkit: "), err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _header() -> bytes:
    m = ProfileMessage()
    m.string_table.extend(["", "samples", "count", "main.work"])
    m.sample_type.add(type=1, unit=2)
    m.function.add(id=1, name=3)
    m.location.add(id=1, line=[{"function_id": 1}])
    return bytes(m.SerializeToString())


def _sample(value: int) -> bytes:
    m = ProfileMessage()
    m.sample.add(location_id=[1], value=[value])
    return bytes(m.SerializeToString())


def _write_gz(path: Path, head: bytes, body: bytes, copies: int) -> Path:
    """Write ``head + body * copies`` gzip'd, streaming (``copies`` may be millions)."""
    comp = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = body * max(1, (1 << 20) // len(body))
    per = len(block) // len(body)
    with open(path, "wb") as f:
        f.write(comp.compress(head))
        left = copies
        while left >= per:
            f.write(comp.compress(block))
            left -= per
        f.write(comp.compress(body * left))
        f.write(comp.flush())
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    d = tmp_path_factory.mktemp("hostile")
    head = _header()
    label_bomb = b"\x12" + _varint(6 + 2 * 40_000_000) + b"\x0a\x01\x01\x12\x01\x01"
    return {
        # the file: 25 M identical samples, ~0.3 MB gzip'd, 200 MB inflated
        "identical": _write_gz(d / "identical.pb.gz", head, _sample(1), 25_000_000),
        # two samples alternating: no run to merge, so the samples limit answers
        "alternating": _write_gz(d / "alternating.pb.gz", head, _sample(1) + _sample(2),
                                 12_500_000),
        # 3 M empty samples in a 6 MB message (not walked: counted after decoding)
        "small_many": _write_gz(d / "small_many.pb.gz", head, b"\x12\x00", 3_000_000),
        # one sample with 40 M labels (80 MB)
        "labels": _write_gz(d / "labels.pb.gz", head + label_bomb, b"\x1a\x00", 40_000_000),
        # 3 M locations, 3 M functions (small messages: counted after decoding)
        "locations": _write_gz(d / "locations.pb.gz", head, b"\x22\x00", 3_000_000),
        "functions": _write_gz(d / "functions.pb.gz", head, b"\x2a\x00", 3_000_000),
        # 10 M empty strings (20 MB: walked), 100 M comments packed in one field
        "strings": _write_gz(d / "strings.pb.gz", head, b"\x32\x00", 10_000_000),
        "comments": _write_gz(d / "comments.pb.gz",
                              head + b"\x6a" + _varint(100_000_000), b"\x00", 100_000_000),
        # 10 M locations of one line each (40 MB: walked)
        "locations_walked": _write_gz(d / "locations_walked.pb.gz", head,
                                      b"\x22\x02\x22\x00", 10_000_000),
    }


def test_identical_samples_are_merged_in_bounded_memory(hostile: Dict[str, Path]) -> None:
    r = run_profkit("info", "--json", str(hostile["identical"]))
    assert r["rc"] == 0, r
    info = json.loads(str(r["out"]))
    assert info["totals"] == {"samples": 25_000_000}
    assert info["samples"] == 1
    assert float(str(r["rss_mb"])) < 700, r["rss_mb"]  # was > 8 GB


def test_top_on_identical_samples_gives_the_total(hostile: Dict[str, Path]) -> None:
    r = run_profkit("top", str(hostile["identical"]))
    assert r["rc"] == 0, r
    assert "main.work" in str(r["out"]) and "25000000" in str(r["out"])
    assert float(str(r["rss_mb"])) < 700


@pytest.mark.parametrize("case,limit", [
    ("alternating", "samples"), ("small_many", "samples"), ("labels", "frames"),
    ("locations", "locations"), ("functions", "functions"), ("strings", "strings"),
    ("comments", "strings"), ("locations_walked", "locations"),
])
def test_over_a_limit_is_one_line_naming_it(hostile: Dict[str, Path], case: str,
                                            limit: str) -> None:
    r = run_profkit("info", str(hostile[case]))
    assert_one_line_error(r, f"the {limit} limit", f"raise {ENV[limit]}", hostile[case].name)
    assert float(str(r["rss_mb"])) < 2 * GB, r["rss_mb"]


def test_the_variable_moves_the_limit(tmp_path: Path) -> None:
    p = tmp_path / "distinct.pb.gz"
    p.write_bytes(gzip.compress(_header() + b"".join(_sample(i) for i in range(1, 1001))))
    assert_one_line_error(run_profkit("info", str(p), env={ENV["samples"]: "999"}),
                          "more than 999 samples", "PROFKIT_MAX_SAMPLES")
    r = run_profkit("info", "--json", str(p), env={ENV["samples"]: "1000"})
    assert r["rc"] == 0 and json.loads(str(r["out"]))["samples"] == 1000, r


def test_bad_limit_variable_is_one_line(hostile: Dict[str, Path]) -> None:
    r = run_profkit("info", str(hostile["identical"]), env={ENV["samples"]: "lots"})
    assert_one_line_error(r, "PROFKIT_MAX_SAMPLES='lots' is not a positive number")


def test_collapsed_importer_counts_lines_before_splitting(tmp_path: Path) -> None:
    p = tmp_path / "many.collapsed"
    p.write_text("".join(f"main;f{i} 1\n" for i in range(2000)))
    r = run_profkit("info", str(p), env={ENV["samples"]: "1000"})
    assert_one_line_error(r, "many.collapsed", "the samples limit", "PROFKIT_MAX_SAMPLES")
    assert run_profkit("info", str(p))["rc"] == 0


def test_speedscope_importer_is_bounded(tmp_path: Path) -> None:
    p = tmp_path / "big.speedscope.json"
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json",
           "shared": {"frames": [{"name": "f"}]},
           "profiles": [{"type": "sampled", "name": "p", "unit": "none", "startValue": 0,
                         "endValue": 3000, "samples": [[0]] * 3000, "weights": [1] * 3000}]}
    p.write_text(json.dumps(doc))
    r = run_profkit("info", str(p), env={ENV["frames"]: "1000"})
    assert_one_line_error(r, "the frames limit", "PROFKIT_MAX_FRAMES")
    assert run_profkit("info", str(p))["rc"] == 0


def test_builder_stops_at_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV["samples"], "3")
    b = ProfileBuilder([("samples", "count")], limits=current_limits())  # as importers do
    for i in range(3):
        b.add([FrameKey(f"f{i}")], [1])
    b.add([FrameKey("f0")], [1])  # an existing sample is summed, not counted again
    with pytest.raises(LimitError, match="more than 3 samples"):
        b.add([FrameKey("f3")], [1])
    collector = ProfileBuilder([("samples", "count")])  # the program's own data: unbounded
    for i in range(5):
        collector.add([FrameKey(f"f{i}")], [1])
    assert len(collector.build().samples) == 5


def test_from_message_checks_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    msg = codec.decode(gzip.compress(_header() + _sample(1) + _sample(2)))
    assert len(from_message(msg).stacks) == 2
    monkeypatch.setenv(ENV["samples"], "1")
    with pytest.raises(LimitError, match="the samples limit"):
        from_message(msg)


def test_defaults_are_what_the_docs_say(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in ENV.values():
        monkeypatch.delenv(env, raising=False)
    lim = current_limits()
    assert {k: getattr(lim, k) for k in DEFAULTS} == DEFAULTS
    assert DEFAULTS["samples"] >= 1_000_000 and DEFAULTS["frames"] >= 32_000_000


def test_pstats_importer_counts_functions_before_building(tmp_path: Path) -> None:
    import marshal

    p = tmp_path / "many.prof"
    stats = {("f.py", i, f"fn{i}"): (1, 1, 0.1, 0.1, {}) for i in range(2000)}
    p.write_bytes(marshal.dumps(stats))
    r = run_profkit("info", str(p), env={ENV["functions"]: "1000"})
    assert_one_line_error(r, "many.prof: profile is too large", "PROFKIT_MAX_FUNCTIONS")
    assert run_profkit("info", str(p))["rc"] == 0


def test_builder_limit_in_an_importer_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "deep.collapsed"
    p.write_text("".join(f"main;f{i} 1\n" for i in range(300)))
    r = run_profkit("info", str(p), env={ENV["locations"]: "100"})
    assert_one_line_error(r, "deep.collapsed: profile is too large", "the locations limit")
