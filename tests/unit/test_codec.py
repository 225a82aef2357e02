"""Codec round trip on the shared corpus, and hostile input."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import pytest

from profkit.model import ProfileFormatError, check_valid, load, parse, serialize
from profkit.model.codec import inflate, save


def _canon(p):  # type: ignore[no-untyped-def]
    return (
        [(s.type, s.unit) for s in p.sample_types],
        [
            (
                [[(ln.function.name, ln.function.filename, ln.line) for ln in loc.lines] for loc in s.locations],
                s.values,
                sorted(s.labels.items()),
                sorted(s.num_labels.items()),
            )
            for s in p.samples
        ],
        p.period,
        p.duration_nanos,
        p.time_nanos,
    )


@pytest.mark.parametrize("name", ["sample.cpu", "large.cpu"])
def test_corpus_round_trip(corpus: Path, name: str) -> None:
    p = load(corpus / name)
    check_valid(p)
    assert p.samples
    q = parse(serialize(p))
    assert _canon(q) == _canon(p)
    assert parse(serialize(p, compress=False)).total(1) == p.total(1)


def test_truncated_gzip_is_one_clear_error(corpus: Path) -> None:
    data = (corpus / "large.cpu").read_bytes()
    with pytest.raises(ProfileFormatError, match="truncated"):
        parse(data[: len(data) // 2])


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world, not a profile", os.urandom(4096), b"\x1f\x8b\x08\x00garbage"],
)
def test_garbage_rejected(data: bytes) -> None:
    with pytest.raises(ProfileFormatError):
        parse(data)


def test_gzip_bomb_bounded() -> None:
    bomb = gzip.compress(b"\x00" * (64 << 20))  # 64 MiB of zeros, ~64 KiB compressed
    with pytest.raises(ProfileFormatError, match="gzip bomb"):
        inflate(bomb, max_bytes=8 << 20)


def test_string_index_out_of_range() -> None:
    # sample_type {type: 5 unit: 6} with a one-entry string table
    raw = bytes([0x0A, 0x04, 0x08, 0x05, 0x10, 0x06, 0x32, 0x00])
    with pytest.raises(ProfileFormatError, match="string index 5 out of range"):
        parse(raw)


def test_missing_location_reference() -> None:
    # sample_type {1,2}; sample {location_id: [7], value: [1]}; strings "", "a", "b"
    raw = bytes([0x0A, 0x04, 0x08, 0x01, 0x10, 0x02, 0x12, 0x06, 0x0A, 0x01, 0x07, 0x12, 0x01, 0x01])
    raw += b"\x32\x00\x32\x01a\x32\x01b"
    with pytest.raises(ProfileFormatError, match="nil location"):
        parse(raw)


def test_save_is_atomic(tmp_path: Path, corpus: Path) -> None:
    p = load(corpus / "sample.cpu")
    out = tmp_path / "x.pb.gz"
    save(p, out)
    assert zlib.decompress(out.read_bytes(), 16 + zlib.MAX_WBITS)
    assert [f.name for f in tmp_path.iterdir()] == ["x.pb.gz"]


def test_saved_file_has_umask_mode_not_0600(tmp_path: Path, corpus: Path) -> None:
    p = load(corpus / "sample.cpu")
    out = tmp_path / "mode.pb.gz"
    save(p, out)
    umask = os.umask(0o022)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask
