"""LabelledCoroutine: labels while the coroutine runs, none between steps; results and errors pass through."""

from __future__ import annotations

import asyncio
import threading
from typing import Dict, List, Tuple

import pytest

from profkit.collect.labels import current_labels, labels
from profkit.endpoints.request_labels import LabelledCoroutine, RouteAwareScope


def test_labels_follow_the_task_across_awaits() -> None:
    seen: Dict[str, List[Dict[str, str]]] = {"a": [], "b": []}

    async def handler(name: str) -> str:
        for _ in range(3):
            seen[name].append(current_labels(threading.get_ident()))
            await asyncio.sleep(0)
        return name.upper()

    async def main() -> List[str]:
        tasks = [
            LabelledCoroutine(handler(n), labels, lambda n=n: {"route": f"/{n}"})  # type: ignore[misc]
            for n in ("a", "b")
        ]
        results = await asyncio.gather(*(_as_coro(t) for t in tasks))
        assert current_labels(threading.get_ident()) == {}
        return list(results)

    assert asyncio.run(main()) == ["A", "B"]
    assert seen["a"] == [{"route": "/a"}] * 3 and seen["b"] == [{"route": "/b"}] * 3


async def _as_coro(awaitable: LabelledCoroutine) -> object:
    return await awaitable


def test_errors_and_cancellation_reach_the_coroutine() -> None:
    async def boom() -> None:
        await asyncio.sleep(0)
        raise ValueError("from the app")

    async def run_boom() -> None:
        await LabelledCoroutine(boom(), labels, lambda: {"route": "/x"})

    with pytest.raises(ValueError, match="from the app"):
        asyncio.run(run_boom())

    cancelled = []

    async def slow() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def cancel_it() -> None:
        task = asyncio.ensure_future(_as_coro(LabelledCoroutine(slow(), labels, lambda: {"r": "1"})))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert current_labels(threading.get_ident()) == {}

    asyncio.run(cancel_it())
    assert cancelled == [True]


def test_route_set_mid_step_relabels_and_is_mirrored() -> None:
    original: Dict[str, object] = {"path": "/items/3"}
    scope = RouteAwareScope(original)

    class Route:
        path = "/items/{id}"

    seen: List[Dict[str, str]] = []

    async def app() -> None:
        seen.append(current_labels(threading.get_ident()))
        scope.update({"route": Route()})  # as Starlette's router does, then calls the endpoint
        seen.append(current_labels(threading.get_ident()))

    def labels_for() -> Dict[str, str]:
        route = scope.get("route")
        return {"route": getattr(route, "path", str(scope["path"]))}

    async def main() -> None:
        wrapped = LabelledCoroutine(app(), labels, labels_for)
        scope.on_route = wrapped.refresh
        await wrapped

    asyncio.run(main())
    assert seen == [{"route": "/items/3"}, {"route": "/items/{id}"}]
    assert isinstance(original["route"], Route)
    assert current_labels(threading.get_ident()) == {}


def test_a_task_s_labels_are_its_own_while_tasks_interleave() -> None:
    """Labels live in the task's context: another task on the loop thread never sees them."""
    from profkit.collect.labels import labels_by_thread

    seen: List[Tuple[str, Dict[str, str]]] = []

    async def worker(name: str) -> None:
        with labels(task=name):
            for _ in range(3):
                seen.append((name, dict(labels_by_thread().get(threading.get_ident(), ()))))
                await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(worker("a"), worker("b"))

    asyncio.run(main())
    assert len(seen) == 6 and all(got == {"task": name} for name, got in seen), seen


def test_sync_code_sent_to_a_thread_carries_the_caller_s_labels() -> None:
    """asyncio.to_thread (like anyio's and asgiref's pools) runs the call in a copy of the
    caller's context: the pool thread's samples get the caller's labels, nested ones too."""
    from profkit.collect.labels import labels_by_thread

    def in_pool() -> Tuple[Dict[str, str], Dict[str, str]]:
        outer = dict(labels_by_thread().get(threading.get_ident(), ()))
        with labels(step="parse"):
            inner = dict(labels_by_thread().get(threading.get_ident(), ()))
        return outer, inner

    async def main() -> Tuple[Dict[str, str], Dict[str, str]]:
        with labels(route="/items/{id}"):
            return await asyncio.to_thread(in_pool)

    outer, inner = asyncio.run(main())
    assert outer == {"route": "/items/{id}"}
    assert inner == {"route": "/items/{id}", "step": "parse"}
