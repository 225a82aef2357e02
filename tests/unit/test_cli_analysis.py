"""``profkit top / merge / diff`` in-process: output, exit codes, one-line errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from ops_profiles import cpu_profile

from profkit.cli import main
from profkit.model import load, save


@pytest.fixture()
def files(tmp_path: Path) -> dict:
    a = tmp_path / "a.pb.gz"
    b = tmp_path / "b.pb.gz"
    save(cpu_profile({("m.f", "m.main"): 3, ("m.g", "m.main"): 1}), a)
    save(cpu_profile({("m.f", "m.main"): 1, ("m.h", "m.main"): 4}), b)
    truncated = tmp_path / "truncated.pb.gz"
    truncated.write_bytes(a.read_bytes()[:-20])
    rnd = tmp_path / "random.bin"
    rnd.write_bytes(os.urandom(4096))
    bomb = tmp_path / "bomb.pb.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb.write_bytes(z.compress(b"\0" * (64 << 20)) + z.flush())
    return {"a": a, "b": b, "truncated": truncated, "random": rnd, "bomb": bomb, "dir": tmp_path}


def test_top_text_and_json(files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", str(files["a"])]) == 0
    out = capsys.readouterr().out
    assert "Showing nodes accounting for 40ms, 100% of 40ms total" in out
    assert "      30ms 75.00% 75.00%       30ms 75.00%  m.f" in out
    assert main(["top", "--json", "--sample-index", "samples", str(files["a"]), str(files["b"])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == 9 and data["sample_type"] == "samples"
    assert {r["name"]: r["flat"] for r in data["rows"]} == {"m.f": 4, "m.h": 4, "m.g": 1, "m.main": 0}


def test_merge_and_diff_write_files(files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    out = files["dir"] / "m.pb.gz"
    assert main(["merge", str(files["a"]), str(files["b"]), "-o", str(out)]) == 0
    assert load(out).total(0) == 9
    d = files["dir"] / "d.pb.gz"
    assert main(["diff", str(files["a"]), str(files["b"]), "-o", str(d), "--cum"]) == 0
    text = capsys.readouterr().out
    assert "Showing nodes accounting for 10ms, 25.00% of 40ms total" in text
    labelled = [s for s in load(d).samples if s.labels.get("pprof::base") == ["true"]]
    assert len(labelled) == 2 and all(s.values[0] < 0 for s in labelled)


@pytest.mark.parametrize("kind", ["truncated", "random", "bomb", "missing"])
@pytest.mark.parametrize("command", ["top", "merge", "diff"])
def test_bad_input_is_one_line_exit_1_and_no_output(
    files: dict, kind: str, command: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROFKIT_MAX_PROFILE_BYTES", str(16 << 20))
    import profkit.model.codec as codec

    monkeypatch.setattr(codec, "DEFAULT_MAX_BYTES", 16 << 20)
    bad = files["dir"] / "missing.pb.gz" if kind == "missing" else files[kind]
    out = files["dir"] / "out.pb.gz"
    argv = {
        "top": ["top", str(bad)],
        "merge": ["merge", str(files["a"]), str(bad), "-o", str(out)],
        "diff": ["diff", str(files["a"]), str(bad), "-o", str(out)],
    }[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("profkit: ") and "Traceback" not in err
    assert str(bad.name) in err
    assert not out.exists()
    assert [p.name for p in files["dir"].iterdir() if p.name.startswith(".profkit-")] == []


def test_bad_options(files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--focus", "(", str(files["a"])]) == 1
    assert capsys.readouterr().err.startswith("profkit: parsing focus regexp")
    assert main(["top", "--sample-index", "bogus", str(files["a"])]) == 1
    err = capsys.readouterr().err
    assert "unknown sample index 'bogus'" in err and "samples, cpu" in err
    assert main(["top", "--granularity", "addresses", str(files["a"])]) == 2
    incompatible = files["dir"] / "heap.pb.gz"
    from profkit.model import ProfileBuilder

    save(ProfileBuilder([("inuse_space", "bytes")], period_type=("space", "bytes")).build(), incompatible)
    out = files["dir"] / "x.pb.gz"
    assert main(["merge", str(files["a"]), str(incompatible), "-o", str(out)]) == 1
    assert "incompatible period types cpu/nanoseconds and space/bytes" in capsys.readouterr().err
    assert not out.exists()


def test_subprocess_truncated_file(files: dict) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "profkit", "top", str(files["truncated"])],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "truncated" in proc.stderr


def test_gzip_of_non_profile_is_rejected(files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    p = files["dir"] / "text.gz"
    p.write_bytes(gzip.compress(b"hello world, not a profile\n"))
    assert main(["top", str(p)]) == 1
    assert capsys.readouterr().err.startswith("profkit: ")


@pytest.mark.parametrize("focus", [[], ["--focus", "f"]])
def test_sample_with_unknown_location_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], focus: list
) -> None:
    from profkit.model._schema import ProfileMessage

    msg = ProfileMessage()
    msg.string_table.extend(["", "samples", "count", "f"])
    msg.sample_type.add(type=1, unit=2)
    msg.function.add(id=1, name=3)
    msg.location.add(id=1, line=[{"function_id": 1}])
    msg.sample.add(location_id=[1], value=[1])
    msg.sample.add(location_id=[99, 1], value=[2])
    path = tmp_path / "dangling.pb"
    path.write_bytes(msg.SerializeToString())
    assert main(["top", *focus, str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dangling.pb: malformed profile: sample has nil location" in err
    msg.string_table[0] = "x"
    path.write_bytes(msg.SerializeToString())
    assert main(["top", str(path)]) == 1
    assert "string_table[0] must be ''" in capsys.readouterr().err
