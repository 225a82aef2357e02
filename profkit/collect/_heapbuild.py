"""Build Go-style heap profiles from per-stack allocation totals.

Input records are ``(frames, alloc_count, alloc_bytes, free_count, free_bytes)``
where ``frames`` is a leaf-first sequence of ``FrameKey`` and the numbers are
already unsampled estimates (floats allowed; they are rounded here). A sampling
backend gets them by weighting each sampled block of ``s`` bytes with
``sample_weight(s, interval)`` = ``1 / (1 - exp(-s / interval))``: Go's
``scaleHeapSample`` applied per (stack, block size) bucket, never to a stack's
average block size (which undercounts a line that mixes small and large blocks).
Each sample carries the numeric label ``bytes`` = average block size, as Go writes.
"""

from __future__ import annotations

import math
import runpy
import sys
import threading
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from profkit.model import Profile
from profkit.model.builder import FrameKey, ProfileBuilder

HEAP_TYPES = [
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
]
DOC_URL = "https://github.com/profkit/profkit/blob/main/docs/COLLECTORS-heap-locks.md"
NO_FRAME = FrameKey("(no Python frame)")
RUNPY_FILE = runpy.run_path.__code__.co_filename  # "<frozen runpy>" on 3.11+
HeapRecord = Tuple[Sequence[FrameKey], float, float, float, float]


def sample_weight(size: int, interval: float) -> float:
    """Return how many blocks one sampled block of ``size`` bytes stands for (``>= 1``)."""
    if interval <= 1 or size <= 0:
        return 1.0
    return 1.0 / -math.expm1(-size / interval)


def build_heap_profile(
    records: Iterable[HeapRecord],
    *,
    interval: int,
    allocs_view: bool,
    start_ns: int,
    end_ns: int,
    comment: str,
) -> Profile:
    """Return a heap (``allocs_view=False``) or allocs profile; inputs are not modified.

    ``interval`` is recorded as the profile's period; values are not rescaled here.
    """
    b = ProfileBuilder(
        HEAP_TYPES,
        period_type=("space", "bytes"),
        period=interval,
        default_sample_type="alloc_space" if allocs_view else "",
        doc_url=DOC_URL,
        comments=[comment],
    )
    for frames, fac, fab, ffc, ffb in records:
        ac, ab = round(fac), round(fab)
        ic, ib = max(round(fac - ffc), 0), max(round(fab - ffb), 0)
        if ac == 0 and ic == 0:
            continue
        avg = round(fab / fac) if fac else 0
        b.add(list(frames) or [NO_FRAME], [ac, ab, ic, ib], num_labels={"bytes": avg})
    return b.build(duration_nanos=max(end_ns - start_ns, 0), time_nanos=start_ns)


_module_by_file: Dict[str, str] = {}


def module_for_file(filename: str) -> str:
    """Return the name of the loaded module whose ``__file__`` is ``filename`` (a guess from
    the file name if none). The program run by ``profkit run`` is ``__main__``, as the
    native hook names it from the frames' globals, even after it has ended."""
    from profkit.collect import runner

    if runner.program_globals.get("__file__") == filename:
        name = runner.program_globals.get("__name__")
        if isinstance(name, str):
            return name
    name = _module_by_file.get(filename)
    if name is None:
        for mod_name, mod in list(sys.modules.items()):
            f = getattr(mod, "__file__", None)
            if isinstance(f, str):
                _module_by_file.setdefault(f, mod_name)
        name = _module_by_file.setdefault(filename, _guess_module(filename))
    return name


def _guess_module(filename: str) -> str:
    if filename.startswith("<frozen ") and filename.endswith(">"):
        return filename[len("<frozen "):-1]  # a frozen stdlib module, e.g. posixpath
    if filename.startswith("<"):
        return ""
    base = filename.rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".py") else base


def frames_from_codes(stack: Sequence[Tuple[object, int, object]],
                      cache: Dict[Tuple[int, int], FrameKey]) -> Optional[List[FrameKey]]:
    """Convert ``((code, line, module name or None), ...)`` from the C hook to ``FrameKey``s.

    profkit's own frames are left out and the stack ends at ``profkit run``'s runner
    (``_stackcapture.frame_kind``); returns None for profkit's own allocations (see
    ``is_profkits``). An empty ``stack`` gives ``[]``.
    """
    from profkit.collect._stackcapture import KEEP, STOP, frame_kind, function_name

    out: List[FrameKey] = []
    leaf_kind = root_kind = -1
    module_level = False  # is the root-most frame kept a module's top level?
    for code, line, module in stack:
        kind = frame_kind(code)  # type: ignore[arg-type]
        if code.co_filename != RUNPY_FILE:  # type: ignore[attr-defined]
            root_kind = kind  # ``python -m app``: runpy's frames below app are not a launcher
        if leaf_kind < 0:
            leaf_kind = kind
        if kind == STOP:
            break
        if kind != KEEP:
            continue
        module_level = code.co_name == "<module>"  # type: ignore[attr-defined]
        key = (id(code), line)
        fk = cache.get(key)
        if fk is None:
            filename = code.co_filename  # type: ignore[attr-defined]
            if not isinstance(module, str):
                module = module_for_file(filename)
            name = function_name(code, module)  # type: ignore[arg-type]
            fk = FrameKey(name, filename, line, code.co_firstlineno)  # type: ignore[attr-defined]
            cache[key] = fk
        out.append(fk)
    return None if stack and is_profkits(leaf_kind, root_kind, module_level, out) else out


def is_profkits(leaf_kind: int, root_kind: int, module_level: bool,
                kept: Sequence[FrameKey]) -> bool:
    """True for an allocation by profkit itself, given the ``frame_kind`` of the stack's leaf
    and root-most frames, whether the root-most frame kept is a module's top level, and
    the frames kept. The program's stacks end in its own code or, under ``profkit run``,
    at the runner (``STOP``) right below the program's ``<module>`` frame. So these are
    profkit's: a stack rooted in profkit's launcher (root-most frame ``HIDE``); one that
    reaches the runner from anything but a module's top level (the runner's own work);
    one made in profkit's code (``leaf_kind`` not ``KEEP``) with no caller left but
    ``threading``'s (a profkit thread)."""
    from profkit.collect._stackcapture import HIDE, KEEP, STOP

    if root_kind == HIDE or (root_kind == STOP and not module_level):
        return True
    return leaf_kind != KEEP and all(fk.filename == threading.__file__ for fk in kept)
