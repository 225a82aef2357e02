"""memray importer on real captures written by ``memray run`` here."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from profkit.cli import main
from profkit.importers import detect
from profkit.load import load_any
from profkit.model import Profile, check_valid

pytest.importorskip("memray")

MIB = 1 << 20
SCRIPT = textwrap.dedent("""
    def keep():
        return [bytearray(1 << 20) for _ in range(20)]

    def churn():
        for _ in range(10):
            x = bytearray(1 << 20)
            del x

    kept = keep()
    churn()
""")


def _capture(tmp_path: Path, *flags: str) -> Path:
    script = tmp_path / "work.py"
    script.write_text(SCRIPT)
    out = tmp_path / f"capture{'-'.join(flags)}.bin"
    subprocess.run([sys.executable, "-m", "memray", "run", "-q", *flags, "-o", str(out),
                    str(script)], check=True, capture_output=True, timeout=120)
    return out


def _value(p: Profile, func: str, sample_type: str) -> int:
    i = p.sample_index(sample_type)
    return sum(s.values[i] for s in p.samples
               if any(loc.lines[0].function.name == func for loc in s.locations))


@pytest.mark.parametrize("flags", [(), ("--no-compress",)])
def test_convert_memray_capture_to_heap_profile(tmp_path: Path, flags: tuple) -> None:
    capture = _capture(tmp_path, *flags)
    assert detect(capture).name == "memray"
    out = tmp_path / "heap.pb.gz"
    assert main(["convert", str(capture), "-o", str(out)]) == 0
    p = load_any(out)
    check_valid(p)
    assert [str(t) for t in p.sample_types] == [
        "alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"]
    # memray is exact: 20 MiB kept alive, 10 MiB allocated and freed
    assert _value(p, "work.keep", "inuse_space") == pytest.approx(20 * MIB, abs=4096)
    assert _value(p, "work.keep", "alloc_space") == pytest.approx(20 * MIB, abs=4096)
    assert _value(p, "work.churn", "alloc_space") == pytest.approx(10 * MIB, abs=4096)
    assert _value(p, "work.churn", "inuse_space") == 0
    assert any(loc.lines[0].function.name == "work.<module>" for s in p.samples
               for loc in s.locations)


def test_aggregated_capture_and_peak_view(tmp_path: Path) -> None:
    from profkit.importers import memray as memray_importer

    capture = _capture(tmp_path, "--aggregate")
    p = memray_importer.load(capture)
    assert any("aggregated" in c for c in p.comments)
    assert _value(p, "work.keep", "inuse_space") == pytest.approx(20 * MIB, abs=4096)
    peak = memray_importer.load(_capture(tmp_path), inuse="peak")
    # at peak, the 20 MiB kept plus one churn buffer were alive
    assert _value(peak, "work.keep", "inuse_space") == pytest.approx(20 * MIB, abs=4096)
    assert _value(peak, "work.churn", "inuse_space") == pytest.approx(1 * MIB, abs=4096)


def test_truncated_capture_is_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                             ) -> None:
    capture = _capture(tmp_path, "--no-compress")
    bad = tmp_path / "bad.bin"
    bad.write_bytes(capture.read_bytes()[:40])
    assert main(["convert", str(bad), "-o", str(tmp_path / "x.pb.gz")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("profkit: ") and "\n" not in err and "memray" in err
    assert not (tmp_path / "x.pb.gz").exists()


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_capture_cut_short_is_refused_in_one_line(tmp_path: Path, keep: float,
                                                  capfd: pytest.CaptureFixture[str]) -> None:
    """An uncompressed capture cut short (copied while memray wrote it) is refused: one
    line, exit 1, no output, and memray's own "Memray ERROR" lines kept off stderr."""
    data = _capture(tmp_path, "--no-compress").read_bytes().rstrip(b"\0")
    bad = tmp_path / "cut.bin"
    bad.write_bytes(data[: int(len(data) * keep)])
    assert main(["convert", str(bad), "-o", str(tmp_path / "x.pb.gz")]) == 1
    err = capfd.readouterr().err.strip()
    assert err.startswith("profkit: ") and "\n" not in err and "memray capture" in err
    assert "Memray ERROR" not in err
    assert not (tmp_path / "x.pb.gz").exists()


@pytest.mark.go
def test_memray_profile_opens_in_go_pprof(tmp_path: Path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "heap.pb.gz"
    assert main(["convert", str(_capture(tmp_path)), "-o", str(out)]) == 0
    top = go_pprof("-top", "-sample_index=inuse_space", str(out)).stdout
    assert "work.keep" in top and "20480" in top
