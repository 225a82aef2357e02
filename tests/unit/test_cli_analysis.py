"""``profkit top / merge / diff`` in-process: output, exit codes, one-line errors."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
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
    bomb.write_bytes(profile_bomb(24 << 20))
    zeros = tmp_path / "zeros.pb.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros.write_bytes(z.compress(b"\0" * (24 << 20)) + z.flush())
    return {"a": a, "b": b, "truncated": truncated, "random": rnd, "bomb": bomb, "zeros": zeros,
            "dir": tmp_path}


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes(out + bytes([n]))


#: sample_type {type: 1, unit: 2}; string_table "", "samples", "count": a profile's start
PROFILE_START = bytes([0x0A, 0x04, 0x08, 0x01, 0x10, 0x02]) + b"\x32\x00\x32\x07samples\x32\x05count"


def profile_bomb(size: int) -> bytes:
    """Return ~``size / 1000`` gzip'd bytes that start as a profile (sniffed as pprof) and
    inflate to ``size`` bytes: one more string-table entry of ``size`` bytes. Below the
    cap it is a valid profile with no samples, so only the cap can reject it."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [z.compress(PROFILE_START + b"\x32" + _varint(size))]
    block = b"a" * (1 << 20)
    out += [z.compress(block) for _ in range(size >> 20)]
    return b"".join(out) + z.flush()


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


@pytest.mark.parametrize("kind", ["truncated", "random", "bomb", "zeros", "missing"])
@pytest.mark.parametrize("command", ["top", "merge", "diff", "info", "convert"])
def test_bad_input_is_one_line_exit_1_and_no_output(
    files: dict, kind: str, command: str, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROFKIT_MAX_PROFILE_BYTES", str(16 << 20))
    bad = files["dir"] / "missing.pb.gz" if kind == "missing" else files[kind]
    out = files["dir"] / "out.pb.gz"
    argv = {
        "top": ["top", str(bad)],
        "merge": ["merge", str(files["a"]), str(bad), "-o", str(out)],
        "diff": ["diff", str(files["a"]), str(bad), "-o", str(out)],
        "info": ["info", str(bad)],
        "convert": ["convert", str(bad), "-o", str(out)],
    }[command]
    started = time.monotonic()
    assert main(argv) == 1
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1 and err.startswith("profkit: ") and "Traceback" not in err
    assert f"{bad}: " in err and err.count(str(bad)) == 1
    assert captured.out == ""
    assert not out.exists()
    assert [p.name for p in files["dir"].iterdir() if p.name.startswith(".profkit-")] == []
    if kind in ("bomb", "zeros"):  # every command says the same about a bomb
        assert err == (
            f"profkit: {bad}: profile is too large: inflates past {16 << 20} bytes (gzip bomb?); "
            "raise PROFKIT_MAX_PROFILE_BYTES if it is genuine\n"
        )
        assert elapsed < 20  # inflating stops at the cap (16 MiB here)


def test_bomb_below_the_cap_is_a_profile(files: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bomb of the test above is rejected by the cap alone, not by its content."""
    monkeypatch.setenv("PROFKIT_MAX_PROFILE_BYTES", str(32 << 20))
    assert main(["info", str(files["bomb"])]) == 0
    assert main(["top", str(files["bomb"])]) == 0


def test_bad_options(files: dict, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["top", "--focus", "(", str(files["a"])]) == 1
    assert capsys.readouterr().err.startswith("profkit: parsing focus regexp")
    assert main(["top", "--sample-index", "bogus", str(files["a"])]) == 1
    err = capsys.readouterr().err
    assert "unknown sample index 'bogus'" in err and "samples, cpu" in err
    assert main(["top", "--granularity", "instructions", str(files["a"])]) == 2
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


@pytest.mark.parametrize("command", ["convert", "merge", "diff"])
def test_output_that_is_a_directory_is_one_line(
    files: dict, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = files["dir"] / "outdir"
    target.mkdir()
    a = str(files["a"])
    argv = {
        "convert": ["convert", a, "-o", str(target), "--to", "pprof"],
        "merge": ["merge", a, a, "-o", str(target)],
        "diff": ["diff", a, str(files["b"]), "-o", str(target)],
    }[command]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err == f"profkit: {target}: cannot write (it is a directory: give a file name)\n"
    assert list(target.iterdir()) == []
    assert [p.name for p in files["dir"].iterdir() if p.name.startswith(".profkit-")] == []


def _huge(tmp_path: Path) -> Path:
    from profkit.model import FrameKey, ProfileBuilder

    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"))
    b.add([FrameKey("m.f")], [1, (1 << 63) - 1])
    b.add([FrameKey("m.g")], [1, 5])
    path = tmp_path / "huge.pb.gz"
    save(b.build(), path)
    return path


def test_merge_that_overflows_int64_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = str(_huge(tmp_path))
    out = tmp_path / "m.pb.gz"
    expected = (
        f"profkit: merged profile: sample value {(1 << 64) - 2} (cpu/nanoseconds) does not fit "
        "in 64 bits (int64 overflow; profile.proto cannot hold it)\n"
    )
    assert main(["merge", huge, huge, "-o", str(out)]) == 1
    assert capsys.readouterr().err == expected and not out.exists()
    assert main(["top", huge, huge]) == 1  # not a made-up total (go's pprof wraps to -2ns)
    captured = capsys.readouterr()
    assert captured.err == expected and captured.out == ""
    assert main(["top", huge]) == 0  # one file: each value fits


def test_incompatible_inputs_name_the_file_at_fault(
    files: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    from profkit.model import ProfileBuilder

    heap = files["dir"] / "heap.pb.gz"
    save(ProfileBuilder([("inuse_space", "bytes")], period_type=("space", "bytes")).build(), heap)
    a, b = str(files["a"]), str(files["b"])
    assert main(["merge", a, b, str(heap), "-o", str(files["dir"] / "x.pb.gz")]) == 1
    assert capsys.readouterr().err == (
        f"profkit: {heap}: incompatible period types cpu/nanoseconds and space/bytes "
        f"(merging with {a})\n"
    )
    assert main(["top", a, str(heap)]) == 1
    assert capsys.readouterr().err.startswith(f"profkit: {heap}: incompatible period types")
    assert main(["top", a, "--base", str(heap)]) == 1
    assert capsys.readouterr().err.startswith(f"profkit: {heap}: incompatible period types")
    assert main(["diff", str(heap), a]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"profkit: {heap}: incompatible period types")
    assert err.endswith(f"(the base of {a})\n")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"profkit {version('profkit')}\n"
