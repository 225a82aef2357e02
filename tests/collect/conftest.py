"""Fixtures for collector tests: no collector may stay installed after a test."""

from __future__ import annotations

import threading
from typing import Iterator

import pytest

from profkit.collect import locks


@pytest.fixture(autouse=True)
def _collectors_restored() -> Iterator[None]:
    original_lock = threading.Lock
    locks.reset()
    yield
    was_enabled = locks.is_enabled()
    locks.disable()
    try:
        from profkit.collect import heap

        heap_running = heap.is_running()
        heap.stop()
    except ImportError:
        heap_running = False
    assert threading.Lock is original_lock
    assert not was_enabled, "test left lock profiling enabled"
    assert not heap_running, "test left heap profiling running"
