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
"""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, Tuple

from profkit.importers._common import NO_FRAMES, python_frame_name
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.codec import PathLike
from profkit.model.errors import ProfileFormatError
from profkit.model.profile import Profile
from profkit.model.validate import check_valid

_MAGIC = b"memray"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"
_HEAP_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
               ("inuse_objects", "count"), ("inuse_space", "bytes")]
_Stack = Tuple[FrameKey, ...]


def sniff(head: bytes, path: str) -> bool:
    """Return True for a memray capture: its magic, or an lz4 frame that starts with it."""
    if head.startswith(_MAGIC):
        return True
    return head.startswith(_LZ4_MAGIC) and _MAGIC in head[:32]


def load(path: PathLike, *, inuse: str = "leaked") -> Profile:
    """Load a memray capture as a heap profile (see the module docstring for the mapping).

    ``inuse`` is ``"leaked"`` (alive at the end, default) or ``"peak"``. Raises
    ProfileFormatError with one line when memray is missing or the file is unreadable.
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
    try:
        reader = memray.FileReader(name)
        meta = reader.metadata
        aggregated = getattr(meta.file_format, "name", "") == "AGGREGATED_ALLOCATIONS"
        peak = list(reader.get_high_watermark_allocation_records(merge_threads=True))
        live = (peak if inuse == "peak"
                else list(reader.get_leaked_allocation_records(merge_threads=True)))
        events = peak if aggregated else list(reader.get_allocation_records())
    except (OSError, ValueError, RuntimeError, NotImplementedError) as e:
        raise ProfileFormatError(f"{name}: not a readable memray capture ({e})") from None
    deallocators = {a for a in memray.AllocatorType if a.name in ("FREE", "PYMALLOC_FREE", "MUNMAP")}
    cache: Dict[Tuple[str, str, int], FrameKey] = {}
    totals: Dict[_Stack, list] = {}
    for rec in events:
        if rec.allocator in deallocators or rec.size <= 0:
            continue
        v = totals.setdefault(_stack(rec, cache), [0, 0, 0, 0])
        v[0] += rec.n_allocations
        v[1] += rec.size
    for rec in live:
        v = totals.setdefault(_stack(rec, cache), [0, 0, 0, 0])
        v[2] += rec.n_allocations
        v[3] += rec.size
    comments = [
        f"imported from memray capture {os.path.basename(name)} "
        f"({meta.command_line}, pid {meta.pid})",
        f"inuse = {'allocated at peak memory' if inuse == 'peak' else 'still allocated at the end'}",
    ]
    if aggregated:
        comments.append("aggregated capture: alloc_* = the high-water-mark allocations")
    b = ProfileBuilder(_HEAP_TYPES, period_type=("space", "bytes"), period=1, comments=comments)
    for stack, values in _largest_first(totals.items()):
        avg = values[1] // values[0] if values[0] else (values[3] // values[2] if values[2] else 0)
        b.add(list(stack) or [NO_FRAMES], values, num_labels={"bytes": avg})
    start_ns = int(meta.start_time.timestamp() * 1e9)
    end_ns = int(meta.end_time.timestamp() * 1e9)
    p = b.build(duration_nanos=max(end_ns - start_ns, 0), time_nanos=start_ns)
    check_valid(p)
    return p


def _stack(rec: Any, cache: Dict[Tuple[str, str, int], FrameKey]) -> _Stack:
    out = []
    for func, filename, line in rec.stack_trace():
        key = (func, filename, line)
        fk = cache.get(key)
        if fk is None:
            fk = cache[key] = FrameKey(python_frame_name(func, filename), filename, line)
        out.append(fk)
    return tuple(out)


def _largest_first(items: Iterable[Tuple[_Stack, list]]) -> Iterable[Tuple[_Stack, list]]:
    return sorted(items, key=lambda kv: -(kv[1][1] + kv[1][3]))
