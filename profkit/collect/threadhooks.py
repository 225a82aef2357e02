"""A wrapper around ``threading.Thread.start`` that feeds two collectors.

- Thread-creation profile: the stack at ``Thread.start`` is kept on the thread object
  (``CREATION_ATTR``), as a list of ``(code, line, module)`` leaf first, at most
  ``CREATION_DEPTH`` frames. Cost: one short frame walk per thread start.
- CPU sampler: a thread's CPU time since the last sample would be lost when it exits
  between two samples, and a short thread may never be sampled at all; the wrapped
  ``run`` reports ``(ident, cpu_ns, thread)`` of the exiting thread to
  ``exit_reports`` (appended under the GIL; the sampler drains it). The code object
  the thread runs is recorded at start (``ENTRY_ATTR``), because ``Thread.run``
  deletes ``_target`` when it finishes and a short thread is only seen after that.

``install()`` is idempotent; only threads started after it are covered (threads made
with ``_thread.start_new_thread`` never are).
"""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType, FrameType
from typing import Any, Callable, List, Optional, Tuple

CREATION_ATTR = "_profkit_creation_stack"
CREATION_DEPTH = 64
ENTRY_ATTR = "_profkit_entry_point"

EntryPoint = Tuple[CodeType, Optional[str]]

CreationStack = List[Tuple[CodeType, int, Optional[str]]]

# (ident, cpu_ns at exit, thread) of threads that finished while a sampler ran
exit_reports: List[Tuple[int, int, threading.Thread]] = []
report_exits = False  # set by a running sampler

_original_start: Optional[Callable[[threading.Thread], None]] = None


def _caller_stack(frame: Optional[FrameType]) -> CreationStack:
    out: CreationStack = []
    while frame is not None and len(out) < CREATION_DEPTH:
        module = frame.f_globals.get("__name__")
        out.append((frame.f_code, frame.f_lineno, module if isinstance(module, str) else None))
        frame = frame.f_back
    return out


def _wrap_run(thread: threading.Thread, run: Callable[[], Any]) -> Callable[[], Any]:
    def run_and_report() -> Any:
        try:
            return run()
        finally:
            if report_exits:
                exit_reports.append((threading.get_ident(), time.thread_time_ns(), thread))

    return run_and_report


def _start(self: threading.Thread) -> None:
    try:
        setattr(self, CREATION_ATTR, _caller_stack(sys._getframe(1)))
        setattr(self, ENTRY_ATTR, _find_entry_point(self))
        self.run = _wrap_run(self, self.run)  # type: ignore[method-assign]
    except Exception:  # never break thread start-up
        pass
    assert _original_start is not None
    _original_start(self)


def install() -> None:
    """Wrap ``threading.Thread.start`` (idempotent)."""
    global _original_start
    if _original_start is None:
        _original_start = threading.Thread.start
        threading.Thread.start = _start  # type: ignore[method-assign]


def _find_entry_point(thread: threading.Thread) -> Optional[EntryPoint]:
    target = getattr(thread, "_target", None)
    code = getattr(target, "__code__", None)
    if isinstance(code, CodeType):
        module = getattr(target, "__module__", None)
        return code, module if isinstance(module, str) else None
    run = getattr(type(thread), "run", None)
    code = getattr(run, "__code__", None)
    if isinstance(code, CodeType):
        module = getattr(run, "__module__", None)
        return code, module if isinstance(module, str) else None
    return None


def entry_point(thread: threading.Thread) -> Optional[EntryPoint]:
    """Return ``(code, module)`` of what ``thread`` runs: its ``target``, else its ``run``.

    Uses what was recorded when the thread started (valid after it finished); for a
    thread started before ``install()`` it looks now, which finds only ``run`` once the
    thread has finished.
    """
    recorded = getattr(thread, ENTRY_ATTR, None)
    if isinstance(recorded, tuple):
        return recorded
    return _find_entry_point(thread)


def entry_code(thread: threading.Thread) -> Optional[CodeType]:
    """Return the code object a thread runs (see ``entry_point``)."""
    found = entry_point(thread)
    return found[0] if found is not None else None


def creation_stack(thread: threading.Thread) -> Optional[CreationStack]:
    """Return the recorded ``Thread.start`` stack of ``thread`` (leaf first), or None."""
    stack = getattr(thread, CREATION_ATTR, None)
    return stack if isinstance(stack, list) else None
