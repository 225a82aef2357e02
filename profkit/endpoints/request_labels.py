"""Label the samples taken while a request is handled with its ``route`` and ``method``.

Labels come from ``profkit.collect.labels.labels`` (Go's ``pprof.Do``), which tags the
current *thread*. Synchronous apps get one ``labels()`` block around the app call. For
async apps many requests interleave on the event-loop thread, so ``LabelledCoroutine``
re-enters the request's labels each time its coroutine resumes and leaves them each
time it suspends: samples of the loop thread carry the labels of the task that is
running at that moment. Labels an app adds itself inside a coroutine therefore last
until its next ``await``.

Labelling is best effort: if the labels module is missing or fails, the request runs
unlabelled; a profiler problem never breaks the app's own responses.
"""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from typing import Any, Callable, Dict, Generator, Optional, TypeVar

log = logging.getLogger("profkit.endpoints")
T = TypeVar("T")
LabelsFactory = Callable[..., "AbstractContextManager[Any]"]


def labels_factory() -> Optional[LabelsFactory]:
    """Return ``profkit.collect.labels.labels``, or None when it cannot be imported."""
    try:
        from profkit.collect.labels import labels
    except Exception:  # pragma: no cover - the collector is part of profkit
        log.warning("profkit: request labels unavailable (profkit.collect.labels failed to import)")
        return None
    return labels


def _enter(factory: LabelsFactory, kv: Dict[str, str]) -> Optional[AbstractContextManager[Any]]:
    try:
        cm = factory(**kv)
        cm.__enter__()
        return cm
    except Exception:
        log.debug("profkit: could not set request labels", exc_info=True)
        return None


def _exit(cm: Optional[AbstractContextManager[Any]]) -> None:
    if cm is None:
        return
    try:
        cm.__exit__(None, None, None)
    except Exception:
        log.debug("profkit: could not clear request labels", exc_info=True)


def call_labelled(
    factory: Optional[LabelsFactory], kv: Dict[str, str], fn: Callable[..., T], *args: Any
) -> T:
    """Return ``fn(*args)`` run inside ``labels(**kv)`` (unlabelled if that fails)."""
    if factory is None:
        return fn(*args)
    cm = _enter(factory, kv)
    try:
        return fn(*args)
    finally:
        _exit(cm)


class LabelledCoroutine:
    """Await ``coro`` with ``labels(**labels_for())`` active whenever it runs.

    ``labels_for`` is called at every resume, so labels can follow routing (for example
    Starlette's ``scope["route"]``, set once the router has matched).
    """

    def __init__(
        self, coro: Any, factory: LabelsFactory, labels_for: Callable[[], Dict[str, str]]
    ) -> None:
        self._coro = coro
        self._factory = factory
        self._labels_for = labels_for

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro
        to_send: Any = None
        to_throw: Optional[BaseException] = None
        while True:
            try:
                kv = self._labels_for()
            except Exception:
                kv = {}
            cm = _enter(self._factory, kv) if kv else None
            try:
                if to_throw is not None:
                    yielded = coro.throw(to_throw)
                else:
                    yielded = coro.send(to_send)
            except StopIteration as stop:
                return stop.value
            finally:
                _exit(cm)
            try:
                to_send = yield yielded
                to_throw = None
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as e:  # CancelledError and friends go into the coroutine
                to_send = None
                to_throw = e
