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


def _files(directory: Path) -> list:
    return sorted(f.name for f in directory.iterdir())


def test_write_to_a_directory_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    from profkit.model.codec import WriteError, write_atomic

    target = tmp_path / "out"
    target.mkdir()
    with pytest.raises(WriteError) as e:
        write_atomic(target, b"data")
    assert str(e.value) == f"{target}: cannot write (it is a directory: give a file name)"
    assert _files(tmp_path) == ["out"] and _files(target) == []


def test_failed_replace_removes_the_temp_file_and_keeps_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from profkit.model.codec import WriteError, write_atomic

    target = tmp_path / "x.pb.gz"
    target.write_bytes(b"old")

    def full_disk(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(WriteError) as e:
        write_atomic(target, b"new")
    assert str(e.value) == f"{target}: cannot write (No space left on device)"
    assert str(e.value).count(str(target)) == 1
    assert (e.value.path, e.value.reason) == (str(target), "No space left on device")
    assert _files(tmp_path) == ["x.pb.gz"] and target.read_bytes() == b"old"


def test_write_into_a_missing_directory_names_it(tmp_path: Path) -> None:
    from profkit.model.codec import WriteError, write_atomic

    with pytest.raises(WriteError, match=r"cannot write \(no such directory: .*nodir\)$"):
        write_atomic(tmp_path / "nodir" / "x.pb.gz", b"data")


def _overflowing_profile():  # type: ignore[no-untyped-def]
    from profkit.model import FrameKey, ProfileBuilder

    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")])
    b.add([FrameKey("m.f")], [1, (1 << 63) - 1])
    p = b.build()
    p.samples[0].values[1] += 1  # what merging two such profiles gives
    return p


def test_value_beyond_int64_is_a_clear_error_at_encode_time() -> None:
    p = _overflowing_profile()
    with pytest.raises(ProfileFormatError) as e:
        serialize(p)
    assert str(e.value) == (
        f"cannot encode the profile: sample value {1 << 63} (cpu/nanoseconds) does not fit "
        "in 64 bits (int64 overflow; profile.proto cannot hold it)"
    )


def test_numeric_label_beyond_int64_is_a_clear_error() -> None:
    from profkit.model import check_int64

    p = _overflowing_profile()
    p.samples[0].values[1] = 1
    p.samples[0].num_labels["bytes"] = [-(1 << 63) - 1]
    with pytest.raises(ProfileFormatError, match=r"^p: numeric label bytes=-\d+ does not fit"):
        check_int64(p, "p")
    with pytest.raises(ProfileFormatError, match="numeric label bytes"):
        serialize(p)


def test_cap_is_read_at_call_time_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(b"\x08" * (2 << 20))
    assert len(inflate(data)) == 2 << 20
    monkeypatch.setenv("PROFKIT_MAX_PROFILE_BYTES", str(1 << 20))
    with pytest.raises(ProfileFormatError, match=r"too large: inflates past 1048576 bytes \(gzip bomb\?\)"):
        inflate(data)
    with pytest.raises(ProfileFormatError, match="too large"):
        parse(data)


@pytest.mark.parametrize("value", ["lots", "0", "-5"])
def test_bad_cap_variable_is_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from profkit.model import ProfkitError

    monkeypatch.setenv("PROFKIT_MAX_PROFILE_BYTES", value)
    with pytest.raises(ProfkitError, match="PROFKIT_MAX_PROFILE_BYTES=.* is not a positive number"):
        parse(gzip.compress(b"x"))


def test_inflate_holds_the_output_once() -> None:
    """Peak memory of inflating N bytes is about N (chunks are not kept and then joined)."""
    import tracemalloc

    size = 16 << 20
    data = gzip.compress(os.urandom(1 << 16) * (size >> 16), compresslevel=1)
    tracemalloc.start()
    try:
        out = inflate(data, max_bytes=size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(out) == size
    assert peak < 1.4 * size, f"peak {peak / size:.2f} x the output"


def test_gzip_bomb_is_rejected_near_the_cap() -> None:
    import tracemalloc

    bomb = gzip.compress(b"\x00" * (64 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(ProfileFormatError, match="gzip bomb"):
            inflate(bomb, max_bytes=4 << 20)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_concatenated_members_and_trailing_padding() -> None:
    a, b = os.urandom(3 << 20), b"tail" * 1000
    assert inflate(gzip.compress(a) + gzip.compress(b) + b"\x00" * 8) == a + b
    assert inflate(gzip.compress(b) + b"garbage") == b
    with pytest.raises(ProfileFormatError, match="truncated"):
        inflate(gzip.compress(b) + gzip.compress(a)[:-100])
