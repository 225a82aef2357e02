"""Output files respect what is there: FIFOs and devices are written through, ``-`` is
stdout, a replaced file keeps its mode and owner, a symlink stays a link; every
failure is one line and leaves no partial or temporary file.
"""

from __future__ import annotations

import gzip
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path
from typing import List

import pytest

from profkit.model import codec
from profkit.model.builder import FrameKey, ProfileBuilder


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    b = ProfileBuilder([("samples", "count")])
    b.add([FrameKey("main.work", "work.py", 3)], [7])
    path = tmp_path_factory.mktemp("src") / "in.pb.gz"
    codec.save(b.build(), path)
    return path


def convert(source: Path, out: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "profkit", "convert", str(source), "-o", out, "--to", "pprof"],
        capture_output=True, cwd=cwd, timeout=60,
    )


def assert_valid_pprof(data: bytes) -> None:
    assert codec.parse(data).total(0) == 7


def test_fifo_is_written_through(source: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: List[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    r = convert(source, str(fifo), tmp_path)
    reader.join(30)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert_valid_pprof(got[0])


def test_device_is_written_through(source: Path, tmp_path: Path) -> None:
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("cannot create a device node here (not root)")
    r = convert(source, str(null), tmp_path)
    assert r.returncode == 0, r.stderr
    assert stat.S_ISCHR(os.stat(null).st_mode)


def test_full_device_is_one_line_and_stays_a_device(source: Path, tmp_path: Path) -> None:
    full = tmp_path / "full"
    try:
        os.mknod(full, stat.S_IFCHR | 0o666, os.makedev(1, 7))
    except PermissionError:
        pytest.skip("cannot create a device node here (not root)")
    r = convert(source, str(full), tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{full}: cannot write (No space left on device)" in err
    assert stat.S_ISCHR(os.stat(full).st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full"]  # no temporary left


def test_dash_is_stdout(source: Path, tmp_path: Path) -> None:
    r = convert(source, "-", tmp_path)
    assert r.returncode == 0, r.stderr
    assert_valid_pprof(r.stdout)
    assert gzip.decompress(r.stdout)
    assert not (tmp_path / "-").exists()


def test_replaced_file_keeps_mode_and_owner(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "private.pb.gz"
    out.write_bytes(b"old")
    out.chmod(0o600)
    owner = (os.getuid(), os.getgid())
    if os.geteuid() == 0:
        os.chown(out, 12345, 23456)
        owner = (12345, 23456)
    r = convert(source, str(out), tmp_path)
    assert r.returncode == 0, r.stderr
    st = os.stat(out)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert (st.st_uid, st.st_gid) == owner
    assert_valid_pprof(out.read_bytes())


def test_new_file_gets_the_usual_mode(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "new.pb.gz"
    r = convert(source, str(out), tmp_path)
    assert r.returncode == 0, r.stderr
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o666 & ~umask


def test_symlink_stays_a_link(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.pb.gz"
    target.write_bytes(b"old")
    link = tmp_path / "link.pb.gz"
    link.symlink_to(target.name)
    r = convert(source, str(link), tmp_path)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink()
    assert_valid_pprof(target.read_bytes())
