"""memray capture files (``memray run -o capture.bin``) -> a Go-style heap Profile.

Read with memray's own reader (``memray.FileReader``; the ``heap`` extra), so every
file format memray writes is supported: plain or lz4-compressed, all-allocations
or ``--aggregate``. The profile has Go's four heap sample types, exact (memray traces
every allocation, so ``period`` is 1 and nothing is scaled):

- ``alloc_objects``/``alloc_space``: every allocation event of the capture (malloc,
  calloc, realloc, mmap, pymalloc, ...; frees are not allocations). For an
  ``--aggregate`` capture, which keeps no individual events, they equal the
  high-water-mark allocations instead (stated in the profile's comments).
- ``inuse_objects``/``inuse_space``: what was still allocated when tracking ended
  (memray's "leaks" view), or with ``inuse="peak"`` what was allocated at the moment
  of peak memory (memray's "high water mark", what ``memray flamegraph`` shows).

Stacks are memray's Python stacks, leaf first; frames are named
``module.function`` from the file path (``python_frame_name``). Threads are merged.

Records are streamed, never listed: the events are summed per (thread, stack id)
and each distinct stack is resolved once, so memory stays proportional to the
number of distinct stacks, not of records (see docs/PERFORMANCE.md).

A damaged capture is refused (``ProfileFormatError``, one line) rather than
converted from the part memray could read: when memray reports an error while
reading (its ``Memray ERROR`` lines, which are kept off stderr), or when an
uncompressed capture holds fewer allocation records than its header counts
(truncated, e.g. copied while being written).
"""

from __future__ import annotations

import os
import struct
import tempfile
from contextlib import contextmanager
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from profkit.importers._common import NO_FRAMES, python_frame_name
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.codec import PathLike
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import current_limits
from profkit.model.profile import Profile
from profkit.model.validate import check_valid

_MAGIC = b"memray"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_HEAP_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
               ("inuse_objects", "count"), ("inuse_space", "bytes")]
# Uncompressed header: b"memray\0", format version (int32), python hexversion (int32),
# native traces (1 byte), file format (1 byte), then stats.n_allocations (uint64).
_HEADER_COUNT = {13: struct.Struct("<7si4xxxQ")}  # format versions whose layout is known
_Stack = Tuple[FrameKey, ...]
_Totals = Dict[_Stack, List[int]]
_FrameCache = Dict[Tuple[str, str, int], FrameKey]


def sniff(head: bytes, path: str) -> bool:
    """Return True for a memray capture: its magic, or an lz4 frame that starts with it."""
    if head.startswith(_MAGIC):
        return True
    return head.startswith(_LZ4_MAGIC) and _MAGIC in head[:32]


def load(path: PathLike, *, inuse: str = "leaked") -> Profile:
    """Load a memray capture as a heap profile (see the module docstring for the mapping).

    ``inuse`` is ``"leaked"`` (alive at the end, default) or ``"peak"``. Raises
    ProfileFormatError with one line when memray is missing or the file is unreadable,
    truncated or damaged.
    """
    if inuse not in ("leaked", "peak"):
        raise ValueError(f"inuse must be 'leaked' or 'peak', got {inuse!r}")
    name = os.fspath(path)
    try:
        import memray
    except ImportError:
        raise ProfileFormatError(
            f"{name}: reading memray captures needs memray (pip install 'profkit[heap]')"
        ) from None
    deallocators = {a for a in memray.AllocatorType if a.name in ("FREE", "PYMALLOC_FREE", "MUNMAP")}
    cache: _FrameCache = {}
    totals: _Totals = {}
    errors: List[str] = []
    try:
        with _memray_errors(errors):
            reader = memray.FileReader(name)
            meta = reader.metadata
            aggregated = getattr(meta.file_format, "name", "") == "AGGREGATED_ALLOCATIONS"
            if aggregated:
                _add(totals, reader.get_high_watermark_allocation_records(merge_threads=True),
                     0, cache)
            else:
                _add_events(totals, reader.get_allocation_records(), deallocators, cache)
            live = (reader.get_high_watermark_allocation_records(merge_threads=True)
                    if inuse == "peak" else reader.get_leaked_allocation_records(merge_threads=True))
            _add(totals, live, 2, cache)
    except (OSError, ValueError, RuntimeError, NotImplementedError) as e:
        raise ProfileFormatError(f"{name}: not a readable memray capture ({e})") from None
    if errors:
        raise ProfileFormatError(f"{name}: damaged or truncated memray capture (memray: {errors[0]})")
    expected = _header_allocations(name)
    if expected is not None and expected != meta.total_allocations:
        raise ProfileFormatError(
            f"{name}: truncated memray capture: {meta.total_allocations} of the "
            f"{expected} allocation records its header counts are present")
    comments = [
        f"imported from memray capture {os.path.basename(name)} "
        f"({meta.command_line}, pid {meta.pid})",
        f"inuse = {'allocated at peak memory' if inuse == 'peak' else 'still allocated at the end'}",
    ]
    if aggregated:
        comments.append("aggregated capture: alloc_* = the high-water-mark allocations")
    b = ProfileBuilder(_HEAP_TYPES, period_type=("space", "bytes"), period=1, comments=comments,
                       limits=current_limits())
    for stack, values in _largest_first(totals.items()):
        avg = values[1] // values[0] if values[0] else (values[3] // values[2] if values[2] else 0)
        b.add(list(stack) or [NO_FRAMES], values, num_labels={"bytes": avg})
    start_ns = int(meta.start_time.timestamp() * 1e9)
    end_ns = int(meta.end_time.timestamp() * 1e9)
    p = b.build(duration_nanos=max(end_ns - start_ns, 0), time_nanos=start_ns)
    check_valid(p)
    return p


def _add_events(totals: _Totals, records: Iterable[Any], deallocators: Any,
                cache: _FrameCache) -> None:
    """Add allocation events to ``alloc_*``: summed per (thread, stack id) while streaming,
    each distinct stack resolved once (at first sight, while memray's reader is open)."""
    per_id: Dict[Tuple[int, int], List[int]] = {}
    stacks: Dict[Tuple[int, int], _Stack] = {}
    for rec in records:
        size = rec.size
        if size <= 0 or rec.allocator in deallocators:
            continue
        key = (rec.tid, rec.stack_id)
        v = per_id.get(key)
        if v is None:
            v = per_id[key] = [0, 0]
            stacks[key] = _stack(rec, cache)
        v[0] += rec.n_allocations
        v[1] += size
    for key, (n, size) in per_id.items():
        t = totals.setdefault(stacks[key], [0, 0, 0, 0])
        t[0] += n
        t[1] += size


def _add(totals: _Totals, records: Iterable[Any], at: int, cache: _FrameCache) -> None:
    """Add memray's aggregated records (one per location) to values ``at``, ``at + 1``."""
    for rec in records:
        v = totals.setdefault(_stack(rec, cache), [0, 0, 0, 0])
        v[at] += rec.n_allocations
        v[at + 1] += rec.size


def _header_allocations(name: str) -> Optional[int]:
    """The allocation-record count in an uncompressed capture's header (None if unknown:
    compressed, a format version of unknown layout, or not finalized by the writer)."""
    try:
        with open(name, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if not head.startswith(_MAGIC + b"\0") or len(head) < 11:
        return None
    layout = _HEADER_COUNT.get(int.from_bytes(head[7:11], "little"))
    if layout is None or len(head) < layout.size:
        return None
    count = layout.unpack_from(head)[2]
    return count or None


@contextmanager
def _memray_errors(errors: List[str]) -> Iterator[None]:
    """Collect memray's ``Memray ERROR`` lines (C++ logging to fd 2) into ``errors`` instead
    of letting them reach stderr; other output written to fd 2 meanwhile is passed on."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr: nothing to capture
        yield
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            other = []
            for line in tmp.read().decode(errors="replace").splitlines():
                if line.startswith("Memray ERROR"):
                    errors.append(line.split(":", 1)[-1].strip())
                else:
                    other.append(line + "\n")
            if other:
                os.write(2, "".join(other).encode())


def _stack(rec: Any, cache: _FrameCache) -> _Stack:
    out = []
    for func, filename, line in rec.stack_trace():
        key = (func, filename, line)
        fk = cache.get(key)
        if fk is None:
            fk = cache[key] = FrameKey(python_frame_name(func, filename), filename, line)
        out.append(fk)
    return tuple(out)


def _largest_first(items: Iterable[Tuple[_Stack, List[int]]]) -> Iterable[Tuple[_Stack, List[int]]]:
    return sorted(items, key=lambda kv: -(kv[1][1] + kv[1][3]))
