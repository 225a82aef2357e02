"""Thread snapshot (goroutine-style), its text forms, asyncio tasks, threadcreate."""

from __future__ import annotations

import asyncio
import threading
from typing import Iterator

import pytest

from profkit.collect import threads
from profkit.collect.labels import labels
from profkit.model import check_valid, save


def parked(ev: threading.Event) -> None:
    with labels(role="pool"):
        ev.wait()


async def leaf_wait(gate: asyncio.Event) -> None:
    await gate.wait()


async def handler(gate: asyncio.Event) -> None:
    await leaf_wait(gate)


def spawn_pool(ev: threading.Event, n: int) -> list[threading.Thread]:
    ts = [threading.Thread(target=parked, args=(ev,), name=f"pool-{i}") for i in range(n)]
    for t in ts:
        t.start()
    return ts


@pytest.fixture
def scene() -> Iterator[None]:
    """Three parked pool threads and an event loop thread with two pending tasks."""
    ev = threading.Event()
    pool = spawn_pool(ev, 3)
    ready = threading.Event()
    state: dict = {}

    def loop_main() -> None:
        async def main() -> None:
            gate = asyncio.Event()
            state["loop"], state["gate"] = asyncio.get_running_loop(), gate
            tasks = [asyncio.create_task(handler(gate), name=f"req-{i}") for i in range(2)]
            await asyncio.sleep(0)
            ready.set()
            await asyncio.gather(*tasks)

        asyncio.run(main())

    lt = threading.Thread(target=loop_main, name="loop")
    lt.start()
    assert ready.wait(10)
    try:
        yield
    finally:
        ev.set()
        state["loop"].call_soon_threadsafe(state["gate"].set)
        for t in [*pool, lt]:
            t.join(10)


def _names(sample) -> list[str]:  # type: ignore[no-untyped-def]
    return [loc.lines[0].function.name for loc in sample.locations]


def test_snapshot_groups_threads_and_includes_tasks(scene: None) -> None:
    p = threads.snapshot()
    check_valid(p)
    assert [(t.type, t.unit) for t in p.sample_types] == [("thread", "count")]
    pool = [s for s in p.samples if s.labels.get("role") == ["pool"]]
    assert len(pool) == 1 and pool[0].values == [3]
    assert "test_collect_threads.parked" in _names(pool[0])
    tasks = {s.labels["task"][0]: s for s in p.samples if "task" in s.labels}
    assert {"req-0", "req-1"} <= set(tasks)
    chain = _names(tasks["req-0"])
    assert chain.index("test_collect_threads.leaf_wait") < chain.index(
        "test_collect_threads.handler"
    )
    assert not any(n.startswith("profkit.collect") for s in p.samples for n in _names(s))


def test_text_forms(scene: None) -> None:
    grouped = threads.format_text(1)
    assert grouped.startswith("thread profile: total ")
    assert '3 @ labels {role="pool"}' in grouped
    assert "#\ttest_collect_threads.parked\t" in grouped
    dump = threads.format_text(2)
    for i in range(3):
        assert f'"pool-{i}":' in dump
    assert 'task "req-1" (event loop on thread ' in dump
    assert "test_collect_threads.handler()\n\t" in dump
    with pytest.raises(ValueError):
        threads.format_text(3)


def test_threadcreate_records_where_threads_started() -> None:
    ev = threading.Event()
    pool = spawn_pool(ev, 2)
    try:
        p = threads.threadcreate_profile()
        live = threading.active_count()
    finally:
        ev.set()
        for t in pool:
            t.join()
    check_valid(p)
    assert [(t.type, t.unit) for t in p.sample_types] == [("threadcreate", "count")]
    spawned = [s for s in p.samples if _names(s)[:1] == ["test_collect_threads.spawn_pool"]]
    assert sum(s.values[0] for s in spawned) >= 2
    assert p.total(0) == live


@pytest.mark.go
def test_snapshot_opens_in_go_pprof(scene: None, go_pprof, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "threads.pb.gz"
    save(threads.snapshot(), str(path))
    out = go_pprof("-top", str(path)).stdout
    assert "Type: thread" in out
    assert "test_collect_threads.parked" in out
    tags = go_pprof("-tags", str(path)).stdout
    assert "req-0" in tags and "pool" in tags


def test_text_groups_tasks_on_one_stack_and_names_them() -> None:
    ready = threading.Event()
    state: dict = {}

    def loop_main() -> None:
        async def main() -> None:
            gate = asyncio.Event()
            state["loop"], state["gate"] = asyncio.get_running_loop(), gate
            tasks = [asyncio.create_task(handler(gate), name=f"job-{i:02d}") for i in range(50)]
            await asyncio.sleep(0)
            ready.set()
            await asyncio.gather(*tasks)

        asyncio.run(main())

    lt = threading.Thread(target=loop_main, name="loop")
    lt.start()
    try:
        assert ready.wait(10)
        grouped = threads.format_text(1)
        dump = threads.format_text(2)
        p = threads.snapshot()
    finally:
        state["loop"].call_soon_threadsafe(state["gate"].set)
        lt.join(10)
    blocks = grouped.split("\n\n")
    jobs = [b for b in blocks if "job-" in b]
    assert len(jobs) == 1, grouped  # one group of 50, not 50 groups of 1
    lines = jobs[0].splitlines()
    assert "50 @" in lines, grouped
    names = lines[lines.index("50 @") + 1]
    assert names == "# tasks: " + ", ".join(f"job-{i:02d}" for i in range(10)) + ", ... (+40 more)"
    assert "#\ttest_collect_threads.leaf_wait\t" in jobs[0]
    assert 'task="' not in grouped
    assert dump.count('task "job-') == 50  # debug=2 still lists every task
    # the pprof form keeps one sample per task, so -tagfocus task=job-07 selects one
    job_samples = [s for s in p.samples if s.labels.get("task", [""])[0].startswith("job-")]
    assert len(job_samples) == 50 and all(s.values == [1] for s in job_samples)
