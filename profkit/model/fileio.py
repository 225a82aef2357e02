"""Profile files in and out: capped reads and inflation, atomic writes.

Input is never trusted: a file and what it inflates to are capped at
``max_profile_bytes()`` -- ``$PROFKIT_MAX_PROFILE_BYTES`` if set, else
``DEFAULT_MAX_BYTES`` (256 MiB), read at every call; functions taking
``max_bytes=None`` / ``limit=None`` use it. Inflation stops as soon as the output
passes the cap, so a gzip bomb is rejected with peak memory about the cap. Every
failure is one line: ProfileFormatError for bad input, WriteError
(``OUT: cannot write (reason)``) for output. ``write_atomic`` writes a temporary
file in the target directory and renames it: a failure never leaves a partial file.
``profkit.model.codec`` re-exports all of this.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from typing import Optional, Union

from profkit.model.errors import ProfileFormatError, ProfkitError

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
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ProfkitError(
            f"{MAX_BYTES_ENV}={raw!r} is not a positive number of bytes: unset it or "
            f"give one, e.g. {DEFAULT_MAX_BYTES}"
        )
    return value


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


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; nothing partial remains.

    Raises WriteError (``PATH: cannot write (reason)``, one line) on any OS error, e.g.
    ``path`` is a directory, the directory is missing or read-only, the disk is full;
    the temporary file is removed and an existing ``path`` is left untouched.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise WriteError(name, "it is a directory: give a file name")
    directory = os.path.dirname(os.path.abspath(name))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".profkit-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise WriteError(name, _reason(e, name)) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise WriteError(name, _reason(e, name)) from None
        raise
