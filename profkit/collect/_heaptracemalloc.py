"""tracemalloc-based heap backend: the pure-Python twin of ``_heaphook``.

tracemalloc traces every block, so this backend is exact rather than sampled, and
slow (several times slower allocations; see docs/PERFORMANCE.md). It knows only the
blocks alive at each poll: ``alloc_*`` is built from the growth seen between polls
(a poll happens at every snapshot and at stop), so blocks allocated and freed
between two polls are missing from ``alloc_*``; ``inuse_*`` is exact.

tracemalloc frames carry (file, line) only; function names are found by compiling
the file's source and picking the innermost code object whose lines contain the
line (cached per file).
"""

from __future__ import annotations

import dis
import linecache
import sys
import tracemalloc
from types import CodeType
from typing import Dict, List, Optional, Tuple

from profkit.collect._heapbuild import RUNPY_FILE, HeapRecord, is_profkits, module_for_file
from profkit.collect._stackcapture import HIDE, KEEP, STOP, file_kind, function_name, hidden_files
from profkit.collect.frames import is_hidden
from profkit.model.builder import FrameKey

TRACE_DEPTH = 32

_OWN_FILES = frozenset({tracemalloc.__file__, __file__})
_SPANS: Dict[str, List[Tuple[int, int, CodeType]]] = {}
"""filename -> code spans, shared by all sessions (source files rarely change while running)."""
_Key = Tuple[Tuple[str, int], ...]


class TracemallocHeap:
    """One tracemalloc-backed heap profiling session (not thread-safe: callers serialise)."""

    def __init__(self) -> None:
        self._started_tracing = False
        self._seen: Dict[_Key, List[int]] = {}  # key -> [alloc_n, alloc_b, free_n, free_b]
        self._live: Dict[_Key, Tuple[int, int]] = {}
        self._names: Dict[Tuple[str, int, int], FrameKey] = {}

    def start(self) -> None:
        """Start tracing (reusing tracemalloc if the program already traces)."""
        if not tracemalloc.is_tracing():
            tracemalloc.start(TRACE_DEPTH)
            self._started_tracing = True

    def stop(self) -> None:
        """Poll one last time and stop tracemalloc if this session started it."""
        if tracemalloc.is_tracing():
            self.poll()
            if self._started_tracing:
                tracemalloc.stop()
        self._started_tracing = False

    def poll(self) -> None:
        """Fold the blocks alive now into the running alloc/free totals."""
        if not tracemalloc.is_tracing():
            return
        snap = tracemalloc.take_snapshot()
        now: Dict[_Key, Tuple[int, int]] = {}
        own = _OWN_FILES
        for stat in snap.statistics("traceback"):
            key = tuple((f.filename, f.lineno) for f in reversed(stat.traceback))
            if key and key[0][0] in own:
                continue  # the profiler's own snapshot machinery
            now[key] = (stat.count, stat.size)
        for key in set(now) | set(self._live):
            cn, cb = now.get(key, (0, 0))
            pn, pb = self._live.get(key, (0, 0))
            acc = self._seen.setdefault(key, [0, 0, 0, 0])
            if cb > pb or cn > pn:
                acc[0] += max(cn - pn, 0)
                acc[1] += max(cb - pb, 0)
            if cb < pb or cn < pn:
                acc[2] += max(pn - cn, 0)
                acc[3] += max(pb - cb, 0)
        self._live = now

    def records(self) -> List[HeapRecord]:
        """Return ``(frames, alloc_n, alloc_b, free_n, free_b)`` per stack (exact counts).

        profkit's own frames are left out as in the native backend (``_heapbuild``).
        """
        out: List[HeapRecord] = []
        for key, vals in self._seen.items():
            frames = self._frames(key)
            if frames is not None:
                out.append((frames, *vals))  # type: ignore[arg-type]
        return out

    def _frames(self, key: _Key) -> Optional[List[FrameKey]]:
        """Name a leaf-first stack; a caller on the same line as its callee (a comprehension
        called where it is defined) gets the next enclosing function. None: profkit's own."""
        out: List[FrameKey] = []
        skip = 0
        leaf_kind = root_kind = -1
        module_level = False
        for i, (filename, line) in enumerate(key):
            skip = skip + 1 if i and key[i - 1] == (filename, line) else 0
            kind = KEEP
            if filename in hidden_files:  # profkit run's launcher
                kind = HIDE
            elif is_hidden(filename):
                code = self._innermost_code(filename, line, skip)
                kind = file_kind(filename, code.co_name if code is not None else "")
            if filename != RUNPY_FILE:  # ``python -m app``: runpy below app is no launcher
                root_kind = kind
            if leaf_kind < 0:
                leaf_kind = kind
            if kind == STOP:
                break
            if kind == KEEP:
                out.append(self._frame(filename, line, skip))
                code = self._innermost_code(filename, line, skip)
                # no source: unknown; a ``def`` line belongs to the enclosing code too
                module_level = (code is None or code.co_name == "<module>"
                                or code.co_firstlineno == line)
        return None if key and is_profkits(leaf_kind, root_kind, module_level, out) else out

    def _frame(self, filename: str, line: int, skip: int = 0) -> FrameKey:
        fk = self._names.get((filename, line, skip))
        if fk is None:
            code = self._innermost_code(filename, line, skip)
            module = module_for_file(filename)
            if code is None:
                fk = FrameKey(function_name_for_unknown(module, line), filename, line, 0)
            else:
                fk = FrameKey(function_name(code, module), filename, line, code.co_firstlineno)
            self._names[(filename, line, skip)] = fk
        return fk

    def _innermost_code(self, filename: str, line: int, skip: int = 0) -> Optional[CodeType]:
        """Return the code object containing ``line``, innermost first, ``skip`` levels out."""
        spans = _SPANS.get(filename)
        if spans is None:
            spans = _SPANS[filename] = _code_spans(filename)
        containing = sorted((sp for sp in spans if sp[0] <= line <= sp[1]),
                            key=lambda sp: -sp[0])
        if not containing:
            return None
        return containing[min(skip, len(containing) - 1)][2]


def function_name_for_unknown(module: str, line: int) -> str:
    """Name for a frame whose source is unavailable: ``module.<line N>``."""
    return f"{module}.line{line}" if module else f"line{line}"


def _code_spans(filename: str) -> List[Tuple[int, int, CodeType]]:
    """Return (first line, last line, code) for every code object compiled from ``filename``."""
    source = "".join(linecache.getlines(filename))
    if not source and filename.startswith("<frozen ") and filename.endswith(">"):
        module = sys.modules.get(filename[len("<frozen "):-1])  # frozen stdlib: its .py file
        path = getattr(module, "__file__", None)
        source = "".join(linecache.getlines(path)) if isinstance(path, str) else ""
    if not source:
        return []
    try:
        top = compile(source, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return []
    spans: List[Tuple[int, int, CodeType]] = []
    stack = [top]
    while stack:
        code = stack.pop()
        lines = [ln for _, ln in dis.findlinestarts(code) if ln is not None]
        first = code.co_firstlineno
        spans.append((first, max(lines + [first]), code))
        stack.extend(c for c in code.co_consts if isinstance(c, CodeType))
    return spans
