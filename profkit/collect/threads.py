"""Thread profiles, like Go's goroutine and threadcreate profiles.

- ``snapshot()``: every Python thread's stack now, plus the coroutine chain of every
  pending asyncio task of a running event loop (labelled ``task=<name>``), grouped by
  stack and labels and counted: sample type ``thread/count``.
- ``format_text(debug)``: ``debug=1`` groups equal stacks with counts (Go's
  ``?debug=1``; tasks on one stack form one group that lists their names);
  ``debug=2`` prints every thread and task with its full stack, like a crash dump
  (Go's ``?debug=2``). The profile itself keeps one sample per task (its ``task``
  label), so ``go tool pprof -tagfocus task=...`` can pick one.
- ``threadcreate_profile()``: where each live thread was started (the stack at
  ``Thread.start``): sample type ``threadcreate/count``.

Importing this module wraps ``threading.Thread.start`` (see ``threadhooks``) so that
creation stacks are recorded for threads started from then on; threads started
earlier, and the main thread, show the single frame ``UNRECORDED_NAME``.
Event loops are found through frames running ``BaseEventLoop.run_forever`` (loops
written in C, such as uvloop's, are not found). asyncio is never imported here.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from profkit.collect import threadhooks, threadtext
from profkit.collect.frames import StackInterner, current_frames
from profkit.collect.labels import labels_by_thread
from profkit.collect.threadtext import TextEntry
from profkit.model import FrameKey, Profile, ProfileBuilder

__all__ = ["format_text", "snapshot", "threadcreate_profile"]

UNRECORDED_NAME = "profkit.thread_start_not_recorded"

threadhooks.install()


class StackEntry(NamedTuple):
    """One thread or task: identity, name, stack (leaf first, frame ids) and labels."""

    kind: str  # "thread" or "task"
    thread_id: int  # kernel thread id (for tasks: of the loop's thread)
    name: str
    daemon: bool
    stack: Tuple[int, ...]
    labels: Tuple[Tuple[str, str], ...]


def _coroutine_chain(coro: Any) -> List[Tuple[Any, int, Optional[str]]]:
    """Return (code, line, module) of a coroutine and what it awaits, leaf first."""
    out = []
    seen = 0
    while coro is not None and seen < 1000:
        seen += 1
        frame = (
            getattr(coro, "cr_frame", None)
            or getattr(coro, "gi_frame", None)
            or getattr(coro, "ag_frame", None)
        )
        if frame is None:
            break
        module = frame.f_globals.get("__name__")
        out.append((frame.f_code, frame.f_lineno, module if isinstance(module, str) else None))
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "gi_yieldfrom", None)
            or getattr(coro, "ag_await", None)
        )
    out.reverse()
    return out


def _running_loops(frames: Dict[int, Any]) -> List[Tuple[int, Any]]:
    """Return (thread ident, loop) for event loops whose ``run_forever`` is on a stack."""
    base_events = sys.modules.get("asyncio.base_events")
    if base_events is None:
        return []
    run_forever = base_events.BaseEventLoop.run_forever.__code__
    loops = []
    for ident, frame in frames.items():
        f = frame
        while f is not None:
            if f.f_code is run_forever:
                loop = f.f_locals.get("self")
                if loop is not None:
                    loops.append((ident, loop))
                break
            f = f.f_back
    return loops


def _collect(interner: StackInterner) -> List[StackEntry]:
    frames = current_frames()
    by_thread = labels_by_thread()
    active: Dict[int, threading.Thread] = dict(threading._active)  # type: ignore[attr-defined]
    entries: List[StackEntry] = []
    native: Dict[int, int] = {}
    for ident, frame in frames.items():
        t = active.get(ident)
        nid = getattr(t, "native_id", None) or ident
        native[ident] = nid
        entries.append(
            StackEntry(
                "thread",
                nid,
                t.name if t is not None else f"thread-{ident}",
                bool(t.daemon) if t is not None else False,
                interner.stack(frame),
                by_thread.get(ident, ()),
            )
        )
    asyncio = sys.modules.get("asyncio")
    for ident, loop in _running_loops(frames):
        try:
            tasks = list(asyncio.all_tasks(loop)) if asyncio is not None else []
        except RuntimeError:  # the task set changed size meanwhile
            tasks = []
        for task in tasks:
            chain = _coroutine_chain(task.get_coro())
            name = task.get_name()
            entries.append(
                StackEntry(
                    "task",
                    native.get(ident, ident),
                    name,
                    False,
                    interner.code_stack(chain),
                    (("task", name),),
                )
            )
    del frames
    return entries


def snapshot() -> Profile:
    """Return the stacks of all threads and pending asyncio tasks, grouped and counted.

    Sample type ``thread/count`` (period type ``thread/count``, period 1); thread
    samples carry the thread's ``labels(...)``, task samples a ``task`` label.
    """
    interner = StackInterner()
    entries = _collect(interner)
    b = ProfileBuilder(
        [("thread", "count")],
        period_type=("thread", "count"),
        period=1,
        default_sample_type="thread",
        comments=[f"profkit thread profile: {_summary(entries)}"],
    )
    for e in entries:
        b.add_locations(interner.locations(b, e.stack), [1], dict(e.labels))
    return b.build()


def _summary(entries: List[StackEntry]) -> str:
    threads = sum(1 for e in entries if e.kind == "thread")
    return f"{threads} threads, {len(entries) - threads} asyncio tasks"


def _text_entries(keys: List[FrameKey], entries: List[StackEntry]) -> List[TextEntry]:
    out = []
    for e in entries:
        frames = tuple((keys[i].name, f"{keys[i].filename}:{keys[i].line}") for i in e.stack)
        user = tuple(kv for kv in e.labels if not (e.kind == "task" and kv[0] == "task"))
        out.append(TextEntry(e.kind, e.thread_id, e.name, e.daemon, frames, user))
    return out


def format_text(debug: int = 1) -> str:
    """Return the thread profile as text: ``debug=1`` grouped with counts, ``2`` full dump.

    ``debug=1`` groups threads and tasks by stack and labels (a task's own ``task``
    label does not split groups; the group names its tasks); see ``threadtext``.

    Raises:
        ValueError: ``debug`` is not 1 or 2.
    """
    if debug not in (1, 2):
        raise ValueError(f"debug must be 1 or 2, got {debug}")
    interner = StackInterner()
    entries = _text_entries(interner.keys, _collect(interner))
    return threadtext.grouped(entries) if debug == 1 else threadtext.dump(entries)


def threadcreate_profile() -> Profile:
    """Return where each live thread was started (stack at ``Thread.start``), counted.

    Sample type ``threadcreate/count``; threads whose start was not recorded (the main
    thread, threads started before profkit was imported) show ``UNRECORDED_NAME``.
    """
    interner = StackInterner()
    unrecorded = interner.synthetic(FrameKey(UNRECORDED_NAME))
    b = ProfileBuilder(
        [("threadcreate", "count")],
        period_type=("threadcreate", "count"),
        period=1,
        default_sample_type="threadcreate",
    )
    for t in threading.enumerate():
        recorded = threadhooks.creation_stack(t)
        stack = interner.code_stack(recorded) if recorded else (unrecorded,)
        b.add_locations(interner.locations(b, stack), [1])
    return b.build()
