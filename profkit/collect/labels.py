"""Per-thread profile labels, like Go's ``pprof.Do``: ``with labels(route="/x"): ...``.

Samples that the CPU/wall sampler and the thread snapshot take on a thread while it is
inside ``labels(...)`` carry those string labels. Labels nest: an inner block adds to
(and may override) the outer ones, and leaving a block restores the outer set.

Storage is one immutable tuple per thread in a dict keyed by thread ident, so the
sampler thread can read another thread's labels with one dict lookup and no lock.
asyncio: labels belong to the thread, so tasks interleaving on one event loop thread
see each other's labels between ``await`` points; set them around synchronous code.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Dict, Iterator, Tuple

LabelSet = Tuple[Tuple[str, str], ...]

_by_thread: Dict[int, LabelSet] = {}


@contextlib.contextmanager
def labels(**kv: str) -> Iterator[None]:
    """Tag samples of the current thread with ``kv`` (string keys and values) while inside.

    Raises:
        TypeError: when a value is not a ``str`` (pprof string labels only).
    """
    for k, v in kv.items():
        if not isinstance(v, str):
            raise TypeError(f"label {k!r} must be a str, got {type(v).__name__}")
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


def current_labels(thread_id: int) -> Dict[str, str]:
    """Return a new dict of the labels active on thread ``thread_id`` (a ``threading`` ident)."""
    return dict(_by_thread.get(thread_id, ()))


def label_set(thread_id: int) -> LabelSet:
    """Return the labels of ``thread_id`` as a sorted tuple of pairs (cheap; for samplers)."""
    return _by_thread.get(thread_id, ())


def _reset_after_fork() -> None:
    """Keep only the forking thread's labels in a forked child (other threads are gone)."""
    mine = _by_thread.get(threading.get_ident())
    _by_thread.clear()
    if mine:
        _by_thread[threading.get_ident()] = mine


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
