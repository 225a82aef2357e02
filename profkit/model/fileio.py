"""Profile files in and out: capped reads and inflation, atomic writes.

Input is never trusted: a file and what it inflates to are capped at
``max_profile_bytes()`` -- ``$PROFKIT_MAX_PROFILE_BYTES`` if set, else
``DEFAULT_MAX_BYTES`` (256 MiB), read at every call; functions taking
``max_bytes=None`` / ``limit=None`` use it. Inflation stops as soon as the output
passes the cap, so a gzip bomb is rejected with peak memory about the cap. Every
failure is one line: ProfileFormatError for bad input, WriteError
(``OUT: cannot write (reason)``) for output. ``write_atomic`` writes a temporary
file in the target directory and renames it: a failure never leaves a partial file;
``-`` (stdout), FIFOs and devices are written through, and a replaced file keeps
its mode and owner.
``profkit.model.codec`` re-exports all of this.
"""

from __future__ import annotations

import os
import stat
import tempfile
import zlib
from typing import Optional, Union

from profkit.model.errors import ProfileFormatError, ProfkitError
from profkit.model.limits import positive_env

__all__ = [
    "DEFAULT_MAX_BYTES", "MAX_BYTES_ENV", "Buffer", "PathLike", "WriteError", "bomb_message",
    "inflate", "max_profile_bytes", "read_bytes", "resolve_cap", "write_atomic",
]

PathLike = Union[str, "os.PathLike[str]"]


#: Largest profile accepted by default, gzip'd file and inflated message alike. The
#: largest profiles seen in practice inflate to well under 100 MB (a 231k-sample,
#: 29 MB gzip'd profile is 40 MB raw); 256 MiB leaves room while a gzip bomb is
#: rejected in well under a second and ~256 MiB of memory.
DEFAULT_MAX_BYTES = 256 << 20
#: Environment variable that overrides DEFAULT_MAX_BYTES (a number of bytes).
MAX_BYTES_ENV = "PROFKIT_MAX_PROFILE_BYTES"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
# Read once at import (os.umask can only be read by setting it, which is not thread-safe later).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class WriteError(ProfkitError):
    """An output file could not be written; ``path`` and ``reason`` are the parts of the line."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot write ({reason})")
        self.path = path
        self.reason = reason


def max_profile_bytes() -> int:
    """Return the input cap now: ``$PROFKIT_MAX_PROFILE_BYTES`` if set, else DEFAULT_MAX_BYTES.

    Raises ProfkitError (one line) if the variable is set but not a positive integer.
    """
    return positive_env(MAX_BYTES_ENV, DEFAULT_MAX_BYTES, "number of bytes")


def resolve_cap(max_bytes: Optional[int]) -> int:
    """Return ``max_bytes``, or ``max_profile_bytes()`` when it is None."""
    return max_profile_bytes() if max_bytes is None else max_bytes


def bomb_message(max_bytes: int) -> str:
    """Return the one-line message for input that inflates past ``max_bytes``."""
    return (
        f"profile is too large: inflates past {max_bytes} bytes (gzip bomb?); "
        f"raise {MAX_BYTES_ENV} if it is genuine"
    )


#: What ``inflate`` returns: the input itself, or the inflated bytes (a bytearray, so
#: that the output is never held twice).
Buffer = Union[bytes, bytearray]


def inflate(data: bytes, *, max_bytes: Optional[int] = None) -> Buffer:
    """Return ``data`` gunzipped if it is gzip'd, else unchanged.

    Inflates in chunks into one buffer and stops as soon as the output passes
    ``max_bytes`` (default ``max_profile_bytes()``), so peak memory is about the cap.
    Raises ProfileFormatError if the stream is corrupt, truncated, or too large.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    cap = resolve_cap(max_bytes)
    out = bytearray()
    view = memoryview(data)
    pos = 0
    try:
        while True:  # one gzip member per pass: concatenated members are legal
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while not d.eof:
                # Feed the input in pieces: passing all of it with max_length would
                # copy the rest of the input (unconsumed_tail) for every chunk out.
                pending: Union[bytes, memoryview] = d.unconsumed_tail
                if not pending:
                    if pos >= len(view):
                        raise ProfileFormatError(
                            "truncated gzip stream: the profile file is incomplete"
                        )
                    pending = view[pos:pos + _CHUNK]
                    pos += len(pending)
                out += d.decompress(pending, min(_CHUNK, cap + 1 - len(out)))
                if len(out) > cap:
                    raise ProfileFormatError(bomb_message(cap))
            if not d.unused_data and pos >= len(view):
                break
            rest = (d.unused_data + view[pos:].tobytes()).lstrip(b"\x00")
            if not rest.startswith(_GZIP_MAGIC):
                break  # trailing padding or garbage after the last member is ignored
            view, pos = memoryview(rest), 0
    except zlib.error as e:
        raise ProfileFormatError(f"corrupt gzip stream ({e})") from None
    return out


def read_bytes(path: PathLike, *, limit: Optional[int] = None, head: bool = False) -> bytes:
    """Read a whole file, with errors (missing, directory, too big) as one line.

    ``limit`` defaults to ``max_profile_bytes()``. With ``head=True`` return at most
    the first ``limit`` bytes instead of refusing a larger file (for sniffing a format).
    """
    name = os.fspath(path)
    limit = resolve_cap(limit)
    try:
        with open(name, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise ProfileFormatError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ProfileFormatError(f"{name}: is a directory, not a profile file") from None
    except OSError as e:
        raise ProfileFormatError(f"{name}: cannot read ({e.strerror})") from None
    if len(data) > limit:
        if head:
            return data[:limit]
        raise ProfileFormatError(
            f"{name}: profile is too large: larger than {limit} bytes; "
            f"raise {MAX_BYTES_ENV} if it is genuine"
        )
    return data


def _reason(e: OSError, name: str) -> str:
    if isinstance(e, IsADirectoryError) or os.path.isdir(name):
        return "it is a directory: give a file name"
    directory = os.path.dirname(os.path.abspath(name))
    if isinstance(e, FileNotFoundError) and not os.path.isdir(directory):
        return f"no such directory: {directory}"
    return e.strerror or type(e).__name__


def _write_through(name: str, data: bytes) -> None:
    """Write ``data`` into the existing non-regular file ``name`` (FIFO, device)."""
    try:
        fd = os.open(name, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise WriteError(name, _reason(e, name)) from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
    except OSError as e:
        raise WriteError(name, e.strerror or type(e).__name__) from None


def _write_stdout(data: bytes) -> None:
    import sys

    out = getattr(sys.stdout, "buffer", None)
    try:
        if out is None:  # a text-only stdout (captured): bytes cannot go there as is
            raise WriteError("-", "standard output does not accept bytes")
        out.write(data)
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as e:
        raise WriteError("-", e.strerror or type(e).__name__) from None


def _keep_owner_and_mode(fd: int, old: os.stat_result) -> None:
    """Give the new file the mode and (as far as allowed) the owner of the one it replaces."""
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if hasattr(os, "fchown") and (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
        for uid, gid in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
            try:
                os.fchown(fd, uid, gid)
                return
            except OSError:
                continue  # not root: keep what we may (the group), never fail the write


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` without ever leaving a partial file, respecting what is there.

    * ``-`` writes to standard output.
    * An existing FIFO, device or socket is written through (opened, not replaced):
      ``-o /dev/null`` stays a device, a FIFO's reader gets the data.
    * A symbolic link is followed: its target is replaced, the link stays.
    * A regular file is written via a temporary file in its directory and renamed
      over it; an existing file's mode and owner are kept (a private 0600 profile
      stays 0600), a new file gets ``0666 & ~umask``.

    Raises WriteError (``PATH: cannot write (reason)``, one line) on any OS error, e.g.
    ``path`` is a directory, the directory is missing or read-only, the disk is full;
    the temporary file is removed and an existing ``path`` is left untouched.
    """
    name = os.fspath(path)
    if name == "-":
        _write_stdout(data)
        return
    try:
        old: Optional[os.stat_result] = os.stat(name)
    except OSError:
        old = None
    if old is not None and stat.S_ISDIR(old.st_mode):
        raise WriteError(name, "it is a directory: give a file name")
    if old is not None and not stat.S_ISREG(old.st_mode):
        _write_through(name, data)
        return
    target = os.path.realpath(name) if os.path.islink(name) else name
    directory = os.path.dirname(os.path.abspath(target))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".profkit-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise WriteError(name, _reason(e, name)) from None
    try:
        if old is None:
            os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        else:
            _keep_owner_and_mode(fd, old)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise WriteError(name, _reason(e, name)) from None
        raise
