"""LabelledCoroutine: labels while the coroutine runs, none between steps; results and errors pass through."""

from __future__ import annotations

import asyncio
import threading
from typing import Dict, List

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
