"""Turn live Python frames into interned ``Location`` objects, cheaply.

``StackInterner`` keeps a ``(code object, line) -> Location`` cache, so a sample costs
a frame walk plus one dict lookup per frame; names are computed once per code object.
Names are module-qualified (``pkg.mod.Class.method``, ``pkg.mod.<module>``) so that
``go tool pprof`` does not strip them (see ``profkit.model.builder.qualified_name``).
Stacks deeper than ``max_depth`` keep their ``max_depth`` innermost frames and end in
a marker frame named ``TRUNCATED_NAME`` at the root. Frames of profkit's collectors
and CLI (and of ``runpy``, which ``profkit run`` uses) are left out of every stack,
and a stack ends at the frame of ``runner._execute`` (``ROOT_FUNCTIONS``): under
``profkit run`` the program's own ``<module>`` frame is the root, not the launcher's
(whose frames ``hide_code`` leaves out of stacks taken outside the program).
Not thread-safe: one sampler thread owns an interner.
"""

from __future__ import annotations

import _thread
import gc
import os
import runpy
import sys
from types import CodeType, FrameType
from typing import Dict, List, Optional, Set, Tuple

from profkit.collect._heapbuild import module_for_file
from profkit.model import FrameKey, Location, ProfileBuilder
from profkit.model.builder import qualified_name

TRUNCATED_NAME = "profkit.truncated_stack"
DEFAULT_MAX_DEPTH = 1000
HIDDEN = -1
ROOT = -2  # the frame that runs the program: this frame and all below it are left out

_PROFKIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# profkit's collectors and its CLI (``profkit run``), and runpy, which runs the script
HIDDEN_PREFIXES = (
    os.path.join(_PROFKIT_DIR, "collect") + os.sep,
    os.path.join(_PROFKIT_DIR, "cli") + os.sep,
    runpy.run_path.__code__.co_filename,  # "<frozen runpy>" on 3.11+
)
# (file, function) of frames that start the profiled program: stacks end above them
ROOT_FUNCTIONS = frozenset({(os.path.join(_PROFKIT_DIR, "collect", "runner.py"), "_execute")})
_hidden_codes: Set[CodeType] = set()  # more frames to leave out: see hide_code()
_UNDECIDED = object()  # marker: no module decided yet for a code object


def hide_code(code: CodeType) -> None:
    """Leave frames of ``code`` out of stacks from now on (e.g. ``profkit run``'s launcher).

    Affects interners on their first sight of ``code`` only: call it before sampling.
    """
    _hidden_codes.add(code)


def is_hidden(filename: str) -> bool:
    """Return True for frames profkit leaves out of stacks (its own collector and CLI)."""
    return filename.startswith(HIDDEN_PREFIXES)


def module_from_filename(filename: str) -> str:
    """Guess a module name from a file path when a frame has no ``__name__`` global."""
    base = os.path.basename(filename)
    stem, _ext = os.path.splitext(base)
    if stem == "__init__":
        stem = os.path.basename(os.path.dirname(filename)) or stem
    return stem


def function_name(code: CodeType, module: Optional[str]) -> str:
    """Return the pprof-safe, module-qualified name of ``code``."""
    qualname = getattr(code, "co_qualname", code.co_name)
    if module is None:
        module = module_from_filename(code.co_filename)
    return qualified_name(module, qualname)


def frame_key(code: CodeType, line: int, module: Optional[str]) -> FrameKey:
    """Return the ``FrameKey`` (name, file, line, start line) of one frame."""
    return FrameKey(function_name(code, module), code.co_filename, line or 0, code.co_firstlineno)


class StackInterner:
    """Map frames to small integer ids of ``FrameKey``s, with a per-(code, line) cache.

    ``keys[i]`` is the ``FrameKey`` of id ``i``; id 0 is the truncation marker. Stacks
    are tuples of ids (cheap to hash and to keep); ``locations()`` turns them into a
    builder's ``Location`` objects when the profile is built.
    """

    def __init__(self, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.max_depth = max(1, max_depth)
        self.keys: List[FrameKey] = [FrameKey(TRUNCATED_NAME)]
        self._cache: Dict[Tuple[CodeType, int], int] = {}
        # (code, f_lasti) -> id: f_lasti is a field read, f_lineno a line-table scan
        self._by_offset: Dict[Tuple[CodeType, int], int] = {}
        # code -> module name, decided once per code object whichever way it is first seen
        self._modules: Dict[CodeType, Optional[str]] = {}

    def intern(self, code: CodeType, line: int, module: Optional[str]) -> int:
        """Return the id of frame ``(code, line)``, naming it on first sight.

        Returns ``HIDDEN`` for frames left out and ``ROOT`` for the program's runner.
        """
        key = (code, line)
        fid = self._cache.get(key)
        if fid is None:
            if (code.co_filename, code.co_name) in ROOT_FUNCTIONS:
                self._cache[key] = ROOT
                return ROOT
            if code in _hidden_codes or is_hidden(code.co_filename):
                self._cache[key] = HIDDEN
                return HIDDEN
            fid = len(self.keys)
            self.keys.append(frame_key(code, line, module))
            self._cache[key] = fid
        return fid

    def synthetic(self, key: FrameKey) -> int:
        """Return a new id for a frame that is not Python code (a marker)."""
        self.keys.append(key)
        return len(self.keys) - 1

    def stack(self, frame: Optional[FrameType]) -> Tuple[int, ...]:
        """Return the stack of ``frame`` as frame ids, leaf first (keeps no frame refs)."""
        by_offset = self._by_offset
        out: List[int] = []
        append = out.append
        depth = self.max_depth
        while frame is not None:
            key = (frame.f_code, frame.f_lasti)
            fid = by_offset.get(key)
            if fid is None:
                code = frame.f_code
                if code in self._modules:
                    module = self._modules[code]
                else:
                    name = frame.f_globals.get("__name__")
                    module = self._modules[code] = name if isinstance(name, str) else None
                fid = by_offset[key] = self.intern(code, frame.f_lineno, module)
            frame = frame.f_back
            if fid >= 0:
                if depth == 0:
                    append(0)
                    break
                append(fid)
                depth -= 1
            elif fid == ROOT:
                break
        return tuple(out)

    def captured_stack(
        self, frames: Tuple[Tuple[CodeType, int, int], ...], truncated: bool = False
    ) -> Tuple[int, ...]:
        """Return the stack of a signal capture: ``(code, f_lasti, line)`` leaf first.

        The same ids as ``stack()`` gives for the same frames: the module of a code
        object first seen here comes from the module whose file it is in. ``truncated``:
        the capture left out frames nearer the root; the stack ends in the marker.
        """
        by_offset = self._by_offset
        out: List[int] = []
        depth = self.max_depth
        for code, lasti, line in frames:
            fid = by_offset.get((code, lasti))
            if fid is None:
                module = self._modules.get(code, _UNDECIDED)
                if module is _UNDECIDED:
                    module = self._modules[code] = module_for_file(code.co_filename)
                fid = by_offset[(code, lasti)] = self.intern(code, line, module)  # type: ignore[arg-type]
            if fid >= 0:
                if depth == 0:
                    out.append(0)
                    break
                out.append(fid)
                depth -= 1
            elif fid == ROOT:
                break
        else:
            if truncated:
                out.append(0)
        return tuple(out)

    def code_stack(self, pairs: List[Tuple[CodeType, int, Optional[str]]]) -> Tuple[int, ...]:
        """Return frame ids for ``(code, line, module)`` triples given leaf first."""
        ids = []
        for code, line, module in pairs:
            fid = self.intern(code, line, module)
            if fid == ROOT:
                break
            if fid != HIDDEN:
                ids.append(fid)
        if len(ids) > self.max_depth:
            ids = ids[: self.max_depth] + [0]
        return tuple(ids)

    def locations(self, builder: ProfileBuilder, stack: Tuple[int, ...]) -> List[Location]:
        """Return ``builder``'s interned Locations for a stack of frame ids."""
        keys = self.keys
        return [builder.location(keys[i]) for i in stack]


def current_frames() -> Dict[int, FrameType]:
    """``sys._current_frames()`` with the garbage collector held off while it runs.

    CPython 3.11 builds that dict while holding the runtime's thread-list lock; a
    collection started by one of its allocations runs weakref callbacks (Python code),
    which can hand the GIL to a thread that is exiting, and that thread waits for the
    same lock while holding the GIL: the sampler and the program hang (seen in CI with
    short-lived threads; CPython gh-106883). Calls are serialized: without that, one
    caller's ``gc.enable()`` could land while another is inside the call (a thread
    snapshot served while the sampler runs).
    """
    with _FRAMES_LOCK:
        enabled = gc.isenabled()
        if enabled:
            gc.disable()
        try:
            return sys._current_frames()
        finally:
            if enabled:
                gc.enable()


_FRAMES_LOCK = _thread.allocate_lock()  # never the lock profiler's wrapper


def _new_frames_lock() -> None:
    """After fork(), the child's lock is fresh: a parent thread may have held it."""
    global _FRAMES_LOCK
    _FRAMES_LOCK = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_frames_lock)
