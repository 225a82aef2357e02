"""Label the samples taken while a request is handled with its ``route`` and ``method``.

Labels come from ``profkit.collect.labels.labels`` (Go's ``pprof.Do``), which tags the
current context (and, without its C helper, the current thread). Synchronous apps get
one ``labels()`` block around the app call. For
async apps many requests interleave on the event-loop thread, so ``LabelledCoroutine``
re-enters the request's labels each time its coroutine resumes and leaves them each
time it suspends: samples of the loop thread carry the labels of the task that is
running at that moment. Labels an app adds itself inside a coroutine therefore last
until its next ``await``.

Sync endpoints of FastAPI run in Starlette's thread pool, on another thread. When
routing matches a FastAPI route whose endpoint is a plain ``def``,
``follow_into_threads`` wraps that route's endpoint callable once (its
``dependant.call``; ``functools.wraps`` keeps what FastAPI inspects) so that it runs
inside ``labels(**kv)`` on the pool thread; ``kv`` comes from ``REQUEST_LABELS``, a
context variable the middleware sets in the request's task and the thread pool copies
into the worker (``anyio.to_thread.run_sync`` runs the call in a copy of the context).
With the C helper, sync dependencies, Starlette's own ``Route`` endpoints and every
other call a pool runs in a copy of the request's context carry the labels without this
wrapper (the sampler reads each thread's current context); the wrapper is what labels
FastAPI's sync endpoints when that helper is not built.

Labelling is best effort: if the labels module is missing or fails, the request runs
unlabelled; a profiler problem never breaks the app's own responses.
"""

from __future__ import annotations

import functools
import inspect
import logging
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, Callable, Dict, Generator, List, Optional, TypeVar

log = logging.getLogger("profkit.endpoints")
T = TypeVar("T")
LabelsFactory = Callable[..., "AbstractContextManager[Any]"]
#: The labels of the request being handled in this context (None outside requests).
REQUEST_LABELS: ContextVar[Optional[Dict[str, str]]] = ContextVar(
    "profkit_request_labels", default=None
)
#: Runs a pool-thread call for a profiled request: ``hook(call, args, kwargs)``.
POOL_HOOK: ContextVar[Optional[Callable[[Callable[..., Any], Any, Any], Any]]] = ContextVar(
    "profkit_pool_hook", default=None
)
_MARK = "_profkit_follows_labels"


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


def follow_into_threads(route: Any, factory: Optional[LabelsFactory]) -> None:
    """Wrap ``route.dependant.call`` (a FastAPI sync endpoint) once; see the module doc.

    The wrapper also hands the call to ``POOL_HOOK`` when the request is being profiled
    (``request_profiles``: the pool thread gets a profiler of its own).

    Does nothing for other routes, coroutine or generator endpoints, classes, or a call
    already wrapped. Never raises.
    """
    try:
        dependant: Any = getattr(route, "dependant", None)
        call = getattr(dependant, "call", None)
        if call is None or getattr(call, _MARK, False):
            return
        target = inspect.unwrap(call)
        if not (inspect.isfunction(target) or inspect.ismethod(target)) or (
            inspect.iscoroutinefunction(target) or inspect.isgeneratorfunction(target)
            or inspect.isasyncgenfunction(target)
        ):
            return

        @functools.wraps(call)
        def labelled(*args: Any, **kwargs: Any) -> Any:
            kv = REQUEST_LABELS.get()
            hook = POOL_HOOK.get()
            cm = _enter(factory, kv) if kv is not None and factory is not None else None
            try:
                if hook is not None:
                    return hook(call, args, kwargs)
                return call(*args, **kwargs)
            finally:
                _exit(cm)

        setattr(labelled, _MARK, True)
        dependant.call = labelled
    except Exception:
        log.debug("profkit: could not follow a sync endpoint into the thread pool", exc_info=True)


class RouteAwareScope(Dict[str, Any]):
    """An ASGI scope that calls ``on_route()`` when a router stores ``scope["route"]``.

    Starlette and FastAPI set ``scope["route"]`` after matching and call the endpoint
    in the same step of the coroutine, so the labels must change *during* that step.
    Writes are mirrored into ``original`` so middleware outside ours still sees them.
    """

    def __init__(self, original: Dict[str, Any]) -> None:
        super().__init__(original)
        self.original = original
        self.on_route: Optional[Callable[[], None]] = None

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self.original[key] = value
        if key == "route" and self.on_route is not None:
            self.on_route()

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Update like ``dict.update``, mirroring, and notify when ``route`` changes."""
        before = self.get("route")
        super().update(*args, **kwargs)
        self.original.update(*args, **kwargs)
        if self.get("route") is not before and self.on_route is not None:
            self.on_route()


class LabelledCoroutine:
    """Await ``coro`` with ``labels(**labels_for())`` active whenever it runs.

    ``labels_for`` is called at every resume, and again when ``refresh()`` is called
    during a step (``RouteAwareScope`` does so when routing has matched), so labels
    follow routing within the step that runs the endpoint.
    """

    def __init__(
        self, coro: Any, factory: LabelsFactory, labels_for: Callable[[], Dict[str, str]]
    ) -> None:
        self._coro = coro
        self._factory = factory
        self._labels_for = labels_for
        self._step_cms: List[AbstractContextManager[Any]] = []
        self._in_step = False

    def refresh(self) -> None:
        """Re-apply the labels now (only inside a step of the wrapped coroutine)."""
        if not self._in_step:
            return
        try:
            kv = self._labels_for()
        except Exception:
            return
        cm = _enter(self._factory, kv) if kv else None
        if cm is not None:
            self._step_cms.append(cm)

    def _end_step(self) -> None:
        while self._step_cms:
            _exit(self._step_cms.pop())
        self._in_step = False

    def __await__(self) -> Generator[Any, Any, Any]:
        coro = self._coro.__await__()  # a coroutine, a Future or any awaitable
        to_send: Any = None
        to_throw: Optional[BaseException] = None
        while True:
            try:
                kv = self._labels_for()
            except Exception:
                kv = {}
            cm = _enter(self._factory, kv) if kv else None
            self._in_step = True
            try:
                if to_throw is not None:
                    yielded = coro.throw(to_throw)
                else:
                    yielded = coro.send(to_send)
            except StopIteration as stop:
                return stop.value
            finally:
                self._end_step()
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
