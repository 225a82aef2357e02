"""Per-thread profile labels, like Go's ``pprof.Do``: ``with labels(route="/x"): ...``.

Samples that the CPU/wall sampler and the thread snapshot take on a thread while it is
inside ``labels(...)`` carry those string labels. Labels nest: an inner block adds to
(and may override) the outer ones, and leaving a block restores the outer set.

Labels follow the code, as Go's follow the goroutine: they live in a context variable,
and the sampler reads each thread's *current* context (``_threadctx``, in C). So an
asyncio task's labels are its own even while other tasks interleave on the event loop
thread, and sync code that a thread pool runs for a request (``anyio.to_thread``,
Starlette's ``run_in_threadpool``, FastAPI's sync endpoints and dependencies, asgiref's
``sync_to_async`` under Django's ASGI handler, ``asyncio.to_thread``: each runs the call
in a copy of the caller's context) carries that request's labels. Without the C
extension, labels belong to the thread that entered ``labels(...)`` (one immutable tuple
per thread in a dict keyed by thread ident): tasks interleaving on one event loop
thread then see each other's labels, and pool threads none.
"""

from __future__ import annotations

import contextlib
import os
import threading
from contextvars import ContextVar
from typing import Dict, Iterator, Tuple

LabelSet = Tuple[Tuple[str, str], ...]

_by_thread: Dict[int, LabelSet] = {}
_in_context: ContextVar[LabelSet] = ContextVar("profkit_labels", default=())
LABEL_VAR = _in_context  # the variable the sampler reads (in C: _threadctx, _cpuwake)
MAX_INTERNED = 10_000  # distinct label sets kept alive for the sampler's signal captures
_interned: Dict[LabelSet, LabelSet] = {}
# id() -> label set, for every set kept alive in _interned: a thread's signal handler
# records only the address of its labels (``_cpuwake``); the sampler trusts an address
# found here, where the set it names cannot have been freed and its address reused
alive_by_id: Dict[int, LabelSet] = {}

try:
    from profkit.collect._threadctx import context_values as _context_values
except ImportError:  # not built: labels per thread only
    _context_values = None  # type: ignore[assignment]
_used = False  # whether labels(...) ever ran: until then no thread has any


@contextlib.contextmanager
def labels(**kv: str) -> Iterator[None]:
    """Tag samples of the current thread with ``kv`` (string keys and values) while inside.

    Raises:
        TypeError: when a value is not a ``str`` (pprof string labels only).
    """
    for k, v in kv.items():
        if not isinstance(v, str):
            raise TypeError(f"label {k!r} must be a str, got {type(v).__name__}")
    global _used
    _used = True
    if _context_values is None:
        with _thread_labels(kv):
            yield
        return
    outer = _in_context.get()
    merged = dict(outer)
    merged.update(kv)
    token = _in_context.set(_intern(tuple(sorted(merged.items()))))
    try:
        yield
    finally:
        try:
            _in_context.reset(token)
        except ValueError:  # left in another context than entered (a generator moved)
            _in_context.set(outer)


def _intern(label_set: LabelSet) -> LabelSet:
    """One object per distinct label set (up to ``MAX_INTERNED``), kept alive forever.

    Beyond the bound a set is used as is: samples taken by signal while it is current
    fall back to the labels read when the sampler next holds the GIL.
    """
    known = _interned.get(label_set)
    if known is not None:
        return known
    if len(_interned) < MAX_INTERNED:
        _interned[label_set] = label_set
        alive_by_id[id(label_set)] = label_set
    return label_set


@contextlib.contextmanager
def _thread_labels(kv: Dict[str, str]) -> Iterator[None]:
    """``labels`` without ``_threadctx``: the labels belong to the current thread."""
    ident = threading.get_ident()
    outer = _by_thread.get(ident, ())
    merged = dict(outer)
    merged.update(kv)
    _by_thread[ident] = tuple(sorted(merged.items()))
    try:
        yield
    finally:
        if outer:
            _by_thread[ident] = outer
        else:
            _by_thread.pop(ident, None)


def labels_by_thread() -> Dict[int, LabelSet]:
    """Return {thread ident: labels} of every thread that has labels right now.

    From each thread's current context when ``_threadctx`` is built (call with the GIL
    held, as the sampler does), else the per-thread table. The result must not be
    modified.
    """
    if not _used:
        return {}
    if _context_values is not None:
        return _context_values(_in_context)  # type: ignore[no-any-return]
    return _by_thread


def current_labels(thread_id: int) -> Dict[str, str]:
    """Return a new dict of the labels active on thread ``thread_id`` (a ``threading`` ident)."""
    return dict(label_set(thread_id))


def label_set(thread_id: int) -> LabelSet:
    """Return the labels of ``thread_id`` as a sorted tuple of pairs."""
    return labels_by_thread().get(thread_id, ())


def _reset_after_fork() -> None:
    """Keep only the forking thread's labels in a forked child (other threads are gone)."""
    mine = _by_thread.get(threading.get_ident())
    _by_thread.clear()
    if mine:
        _by_thread[threading.get_ident()] = mine


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
