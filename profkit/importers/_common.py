"""Helpers shared by the importers: reading (gzip'd) input, naming Python frames.

Frame names: foreign formats give a bare function name plus a file. pprof strips a
leading ``<...>`` from names as if it were a C++ template (``<module>`` becomes
``<unknown>``), so every Python frame is named ``module.qualname`` with the module
derived from the file path (``work.py`` -> ``work``, ``.../site-packages/req/api.py``
-> ``req.api``, ``<frozen importlib._bootstrap>`` -> ``importlib._bootstrap``).
Names that still start with ``<`` and have no file get the prefix ``?.``.
"""

from __future__ import annotations

import functools
import math
import os
import re
import zlib
from typing import Dict, Optional

from profkit.model.builder import FrameKey, qualified_name
from profkit.model.codec import Buffer, PathLike, inflate, read_bytes
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import current_limits

# re-exported for the importers: (summed) sample values must fit profile.proto's int64
from profkit.model.validate import check_int64 as check_int64

#: The frame given to a sample with an empty stack: ``go tool pprof`` drops samples
#: without locations, which would change the totals.
NO_FRAMES = FrameKey("(no frames)")
#: Bytes of (inflated) input that sniffers see.
HEAD_BYTES = 4096
_PY_SUFFIXES = (".py", ".pyc", ".pyw", ".pyx", ".pyi")
_STDLIB = re.compile(r"/lib/(?:pypy|python)\d*(?:\.\d+)?t?/")
_NOT_DOTTED = re.compile(r"[^\w.]+")


def read_head(path: PathLike) -> bytes:
    """Return the first HEAD_BYTES of the file, inflated if it is gzip'd.

    Raises ProfileFormatError (one line) if the file is missing or unreadable.
    """
    raw = read_bytes(path, limit=1 << 16, head=True)
    if raw.startswith(b"\x1f\x8b"):
        try:
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(raw, HEAD_BYTES)
        except zlib.error:
            return raw[:HEAD_BYTES]
    return raw[:HEAD_BYTES]


def read_payload(path: PathLike) -> Buffer:
    """Return the whole file, gunzipped if needed (size-capped like pprof input)."""
    data = read_bytes(path)
    try:
        return inflate(data)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None


def read_text(path: PathLike) -> str:
    """Return the file decoded as UTF-8 (invalid bytes are a one-line error)."""
    data = read_payload(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ProfileFormatError(
            f"{os.fspath(path)}: not UTF-8 text (bad byte at offset {e.start})"
        ) from None


def check_entries(text: str, path: PathLike, limit: str, sep: str) -> None:
    """Raise LimitError naming ``path`` if ``text`` has more ``sep``-separated entries
    than the limit ``limit`` (``profkit.model.limits``) allows; counted at C speed
    before anything is split or parsed, so a hostile file costs no more than its text.
    """
    current_limits().check(limit, text.count(sep) + 1, os.fspath(path))


def file_time_nanos(path: PathLike) -> int:
    """Return the file's modification time in ns since the epoch (0 if unknown)."""
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


def is_python_file(filename: str) -> bool:
    """Return True if ``filename`` names Python source (or a ``<frozen ...>`` module)."""
    return filename.endswith(_PY_SUFFIXES) or (
        filename.startswith("<") and filename.endswith(">")
    )


@functools.lru_cache(maxsize=4096)
def module_from_path(filename: str) -> str:
    """Return the dotted module name a Python source path most likely belongs to.

    Relative paths (as py-spy shortens them) are taken as package paths; absolute
    paths are cut after ``site-packages``/``dist-packages``/``lib/pythonX.Y``, else
    the enclosing packages are found on disk by their ``__init__.py``. Returns ""
    when nothing sensible can be derived.
    """
    if not filename:
        return ""
    if filename.startswith("<") and filename.endswith(">"):
        inner = filename[1:-1]
        if inner.startswith("frozen "):
            inner = inner[len("frozen "):]
        return _NOT_DOTTED.sub("_", inner).strip("._")
    path = filename.replace("\\", "/")
    rel: Optional[str] = None
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in path:
            rel = path.rsplit(marker, 1)[1]
            break
    if rel is None:
        ends = [m.end() for m in _STDLIB.finditer(path)]
        if ends:
            rel = path[ends[-1]:]
    if rel is None:
        if os.path.isabs(filename):
            rel = _package_path(filename)
        else:
            rel = path
    stem = rel
    for suffix in _PY_SUFFIXES:
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    parts = [p for p in stem.split("/") if p not in ("", ".", "..")]
    if parts and parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(_NOT_DOTTED.sub("_", p) for p in parts)


def _package_path(filename: str) -> str:
    """Return ``pkg/sub/mod.py`` for an absolute path, walking up ``__init__.py`` dirs."""
    directory, base = os.path.split(filename)
    parts = [base]
    for _ in range(32):
        if not os.path.isfile(os.path.join(directory, "__init__.py")):
            break
        directory, pkg = os.path.split(directory)
        if not pkg:
            break
        parts.insert(0, pkg)
    return "/".join(parts)


def finite(value: float, what: str) -> float:
    """Return ``value`` if it is a finite number, else raise a one-line ProfileFormatError."""
    if not math.isfinite(value):
        raise ProfileFormatError(f"{what}: {value} is not a finite number")
    return value


def thread_labels(thread_id: str, thread_name: str) -> Dict[str, str]:
    """Return the ``thread_id``/``thread_name`` labels (the collectors' keys), empty ones left out."""
    labels = {}
    if thread_id:
        labels["thread_id"] = thread_id
    if thread_name:
        labels["thread_name"] = thread_name
    return labels


def python_frame_name(funcname: str, filename: str) -> str:
    """Return a pprof-safe, module-qualified name for a Python function in ``filename``.

    Non-Python files (native frames) keep their name. A name that would still start
    with ``<`` gets the prefix ``?.`` so that ``go tool pprof`` shows it intact.
    """
    name = funcname
    if filename and is_python_file(filename):
        module = module_from_path(filename)
        if module:
            name = qualified_name(module, name)
    if name.startswith("<"):
        name = "?." + name
    return name
