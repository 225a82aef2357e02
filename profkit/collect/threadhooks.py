"""A wrapper around ``threading.Thread.start`` that feeds two collectors.

- Thread-creation profile: the stack at ``Thread.start`` is kept on the thread object
  (``CREATION_ATTR``), as a list of ``(code, line, module)`` leaf first, at most
  ``CREATION_DEPTH`` frames. Cost: one short frame walk per thread start.
- CPU sampler: a thread's CPU time since the last sample would be lost when it exits
  between two samples, and a short thread may never be sampled at all; the wrapped
  ``run`` reports ``(ident, cpu_ns, thread)`` of the exiting thread to
  ``exit_reports`` (appended under the GIL; the sampler drains it).

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


def entry_code(thread: threading.Thread) -> Optional[CodeType]:
    """Return the code object a thread runs (its ``target``, else its ``run`` method)."""
    target = getattr(thread, "_target", None)
    code = getattr(target, "__code__", None)
    if isinstance(code, CodeType):
        return code
    run = getattr(type(thread), "run", None)
    code = getattr(run, "__code__", None)
    return code if isinstance(code, CodeType) else None


def creation_stack(thread: threading.Thread) -> Optional[CreationStack]:
    """Return the recorded ``Thread.start`` stack of ``thread`` (leaf first), or None."""
    stack = getattr(thread, CREATION_ATTR, None)
    return stack if isinstance(stack, list) else None
