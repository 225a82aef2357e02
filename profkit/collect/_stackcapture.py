"""Cheap Python stack capture for the heap and lock collectors.

A captured stack is a tuple of ``(code_id, line)`` pairs, leaf first; the code object
of each id is pinned in a registry so the id cannot be reused while the stack is
kept. ``to_frame_keys`` turns such a stack into ``FrameKey`` values with
module-qualified names (``qualified_name``) that survive ``go tool pprof``.
Frames from files in ``skip_files`` are dropped from the leaf end only (the
collectors' own wrapper frames). As in CPU profiles (``frames``), profkit's own
frames (collectors, CLI, runpy) are left out anywhere in a stack, and a stack ends
above ``profkit run``'s runner frame (``frames.ROOT_FUNCTIONS``): the launcher's
frames never appear, the program's ``<module>`` frame is the root.
"""

from __future__ import annotations

import _thread
import sys
from types import CodeType, FrameType
from typing import Dict, FrozenSet, List, Optional, Set, Tuple

from profkit.collect.frames import ROOT_FUNCTIONS, is_hidden
from profkit.model.builder import FrameKey, qualified_name

MAX_DEPTH = 64
"""Frames kept per stack (Go keeps 32..128); deeper stacks lose their root end."""

RawStack = Tuple[Tuple[int, int], ...]

_code_info: Dict[int, Tuple[CodeType, str]] = {}
"""id(code) -> (code, module name); pins code objects for the ids stored in stacks."""
_registry_lock = _thread.allocate_lock()  # raw: never a profiled wrapper

KEEP, HIDE, STOP = 0, 1, 2
"""``frame_kind`` results: keep the frame, leave it out, end the stack here (not kept)."""
_kinds: Dict[CodeType, int] = {}
hidden_files: Set[str] = set()
"""Files of the frames ``hide_callers`` marked (for backends that see file names only)."""


def file_kind(filename: str, function: str) -> int:
    """Return ``KEEP``, ``HIDE`` (profkit's own frames) or ``STOP`` (the runner's frame)."""
    if (filename, function) in ROOT_FUNCTIONS:
        return STOP
    return HIDE if is_hidden(filename) else KEEP


def hide_callers(frame: Optional[FrameType]) -> None:
    """Mark ``frame`` and its callers as profkit's own (``HIDE``): called by collectors
    started from ``profkit run``, whose launcher frames (the ``profkit`` console script,
    ``python -m profkit``) are outside the program even where no runner frame is below."""
    while frame is not None:
        if _kinds.get(frame.f_code) != STOP:
            _kinds[frame.f_code] = HIDE
            hidden_files.add(frame.f_code.co_filename)
        frame = frame.f_back


def frame_kind(code: CodeType) -> int:
    """``file_kind`` of a code object (cached)."""
    kind = _kinds.get(code)
    if kind is None:
        kind = _kinds[code] = file_kind(code.co_filename, code.co_name)
    return kind


def capture(frame: Optional[FrameType], skip_files: FrozenSet[str] = frozenset()) -> RawStack:
    """Return the raw stack starting at ``frame`` (leaf first), at most ``MAX_DEPTH`` deep.

    profkit's own frames are left out and the stack ends at the runner (module docstring).
    """
    while frame is not None and frame.f_code.co_filename in skip_files:
        frame = frame.f_back
    out: List[Tuple[int, int]] = []
    info = _code_info
    kinds = _kinds
    depth = 0
    while frame is not None and depth < MAX_DEPTH:
        code = frame.f_code
        kind = kinds.get(code)
        if kind is None:
            kind = frame_kind(code)
        if kind == STOP:
            break
        if kind == KEEP:
            cid = id(code)
            if cid not in info:
                _register(code, frame.f_globals.get("__name__", ""))
            out.append((cid, frame.f_lineno or 0))
            depth += 1
        frame = frame.f_back
    return tuple(out)


def _register(code: CodeType, module: object) -> None:
    with _registry_lock:
        _code_info.setdefault(id(code), (code, module if isinstance(module, str) else ""))


def register_code(code: CodeType, module: str) -> int:
    """Pin ``code`` (with its module name) and return the id used in raw stacks."""
    _register(code, module)
    return id(code)


def function_name(code: CodeType, module: str) -> str:
    """Return the module-qualified name of ``code`` (``pkg.mod.Class.method``)."""
    qualname = getattr(code, "co_qualname", code.co_name)
    return qualified_name(module, qualname)


def to_frame_keys(stack: RawStack, cache: Dict[Tuple[int, int], FrameKey]) -> List[FrameKey]:
    """Convert a raw stack to ``FrameKey`` values; ``cache`` is reused across calls."""
    keys: List[FrameKey] = []
    for item in stack:
        fk = cache.get(item)
        if fk is None:
            code, module = _code_info[item[0]]
            fk = FrameKey(
                function_name(code, module), code.co_filename, item[1], code.co_firstlineno
            )
            cache[item] = fk
        keys.append(fk)
    return keys


_SITE_CACHE_MAX = 4096
_sites: Dict[Tuple[int, int, int], Tuple[CodeType, str]] = {}
"""ids of (code, skip_modules) and f_lasti of a frame that is its own site -> (code, site);
the code is kept to pin its id (hashing a code object itself is slow)."""


def caller_site(frame: Optional[FrameType], skip_modules: FrozenSet[str]) -> str:
    """Return ``module:line`` of the first frame whose module is not in ``skip_modules``
    and that is not one of profkit's own frames.

    Cached per calling instruction when ``frame`` itself is the site (the common case:
    a lock created in the program's code), so creating a lock stays cheap.
    """
    if frame is None:
        return "?"
    code = frame.f_code
    key = (id(code), frame.f_lasti, id(skip_modules))
    hit = _sites.get(key)
    if hit is not None and hit[0] is code:
        return hit[1]
    first = frame
    while frame is not None and (frame.f_globals.get("__name__") in skip_modules
                                 or frame_kind(frame.f_code) != KEEP):
        frame = frame.f_back
    if frame is None:
        return "?"
    site = f"{frame.f_globals.get('__name__', '?')}:{frame.f_lineno}"
    if frame is first:
        if len(_sites) >= _SITE_CACHE_MAX:
            _sites.clear()
        _sites[key] = (code, site)
    return site


def current_frame(depth: int = 1) -> Optional[FrameType]:
    """Return the caller's frame ``depth`` levels up, or None if the stack is shorter."""
    try:
        return sys._getframe(depth + 1)
    except ValueError:
        return None
