"""Heap profiler: accuracy of inuse/alloc estimates, both backends, pprof interop."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import textwrap
from typing import List

import pytest

from profkit.collect import heap
from profkit.errors import CollectorBusyError, InputError
from profkit.model import Profile, check_valid, save

MIB = 1 << 20
BACKENDS = heap.available_backends()


def keep_alive_50mb() -> List[bytearray]:
    return [bytearray(MIB) for _ in range(50)]


def _value_in(p: Profile, func: str, sample_type: str) -> int:
    """Sum of ``sample_type`` over samples whose stack contains ``func``."""
    i = p.sample_index(sample_type)
    return sum(s.values[i] for s in p.samples
               if any(func in loc.lines[0].function.name for loc in s.locations))


@pytest.mark.parametrize("backend", BACKENDS)
def test_live_memory_within_15_percent_and_freed_memory_leaves_inuse(backend: str) -> None:
    heap.start(backend=backend, seed=20240611)
    try:
        kept = keep_alive_50mb()
        before = heap.snapshot()
        del kept
        after = heap.snapshot()
        allocs = heap.allocs_snapshot()
    finally:
        heap.stop()
    for p in (before, after, allocs):
        check_valid(p)
        assert [str(t) for t in p.sample_types] == [
            "alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"]
        assert str(p.period_type) == "space/bytes" and p.period == heap.DEFAULT_INTERVAL
    assert before.default_sample_type == "" and allocs.default_sample_type == "alloc_space"
    assert _value_in(before, "keep_alive_50mb", "inuse_space") == pytest.approx(50 * MIB, rel=0.15)
    assert _value_in(after, "keep_alive_50mb", "inuse_space") < 2 * MIB
    assert _value_in(after, "keep_alive_50mb", "alloc_space") == pytest.approx(50 * MIB, rel=0.15)
    assert _value_in(allocs, "keep_alive_50mb", "alloc_space") == pytest.approx(50 * MIB, rel=0.15)
    line = keep_alive_50mb.__code__.co_firstlineno + 1
    leafs = {(s.locations[0].lines[0].function.name, s.locations[0].lines[0].line)
             for s in before.samples if s.values[3] > MIB}
    assert any(name.endswith("keep_alive_50mb.<locals>.<listcomp>") or
               name.endswith("keep_alive_50mb") for name, _ in leafs)
    assert all(ln == line for name, ln in leafs if "keep_alive_50mb" in name)


def mixed_sizes(n: int) -> List[object]:
    return [bytearray(256 << 10) if i % 5000 == 0 else str(i) * 2 for i in range(n)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_line_mixing_small_and_large_blocks_is_scaled_per_block_size(backend: str) -> None:
    """~60-byte strings and a few 256 KiB buffers from one line: counts and bytes stay
    unbiased (scaling by the line's average block size undercounts objects ~300x)."""
    n = 300_000 if backend == "native" else 20_000  # tracemalloc is exact (and slow)
    heap.start(64 << 10, backend=backend, seed=4242)
    try:
        kept = mixed_sizes(n)
        p = heap.snapshot()
    finally:
        heap.stop()
    line = mixed_sizes.__code__.co_firstlineno + 1
    leaf = [s for s in p.samples if s.locations[0].lines[0].line == line
            and "mixed_sizes" in s.locations[0].lines[0].function.name]
    large = sum(isinstance(x, bytearray) for x in kept)
    true_objects = len(kept) + large + 2  # bytearray: object + buffer; list: object + items
    true_bytes = sum(sys.getsizeof(x) for x in kept) + sys.getsizeof(kept)
    objects = sum(s.values[p.sample_index("inuse_objects")] for s in leaf)
    space = sum(s.values[p.sample_index("inuse_space")] for s in leaf)
    assert objects == pytest.approx(true_objects, rel=0.2)
    assert space == pytest.approx(true_bytes, rel=0.15)
    del kept


@pytest.mark.skipif("native" not in BACKENDS, reason="C extension not built")
def test_native_estimates_are_unbiased_across_seeds() -> None:
    estimates = []
    for seed in range(1, 21):
        heap.start(seed=seed)
        try:
            kept = keep_alive_50mb()
            estimates.append(_value_in(heap.snapshot(), "keep_alive_50mb", "inuse_space"))
            del kept
        finally:
            heap.stop()
    assert statistics.mean(estimates) == pytest.approx(50 * MIB, rel=0.05)
    assert all(e == pytest.approx(50 * MIB, rel=0.3) for e in estimates)


def many_small_blocks(n: int) -> List[bytearray]:
    return [bytearray(100) for _ in range(n)]


@pytest.mark.skipif("native" not in BACKENDS, reason="C extension not built")
def test_native_sees_every_sampled_free_through_its_free_filter() -> None:
    """Every block sampled (interval 1): 3 rounds of 30k blocks alive then freed drive the
    free filter through many rebuilds; a free it wrongly rejected would stay in inuse."""
    heap.start(1, seed=11)
    try:
        for _ in range(3):
            kept = many_small_blocks(30_000)
            alive = _value_in(heap.snapshot(), "many_small_blocks", "inuse_objects")
            del kept
            after = heap.snapshot()
            assert alive >= 60_000  # each bytearray: object + buffer
            assert _value_in(after, "many_small_blocks", "inuse_objects") == 0
    finally:
        heap.stop()
    assert _value_in(after, "many_small_blocks", "alloc_objects") >= 180_000


def test_native_backend_is_built_when_a_compiler_exists() -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the fallback is expected")
    assert BACKENDS[0] == "native"


def test_misuse_gives_clear_errors() -> None:
    with pytest.raises(InputError, match="interval"):
        heap.start(0)
    with pytest.raises(InputError, match="backend"):
        heap.start(backend="nope")
    heap.start()
    try:
        with pytest.raises(CollectorBusyError):
            heap.start()
    finally:
        heap.stop()
    heap.stop()  # idempotent
    assert not heap.is_running()


NATIVE_STRESS = textwrap.dedent("""
    import gc, threading, tracemalloc
    from profkit.collect import heap

    def churn(n):
        def gen():
            x = 1
            def inner():
                return x
            for i in range(n):
                yield [inner() for _ in range(5)], {"k": i}, str(i) * 3, bytearray(i % 700)
        for _ in range(20):
            list(gen())
            gc.collect(0)

    heap.start(1, seed=7)              # sample every allocation: worst case for the hook
    threads = [threading.Thread(target=churn, args=(300,)) for _ in range(4)]
    for t in threads: t.start()
    churn(300)
    for t in threads: t.join()
    p = heap.snapshot()
    tracemalloc.start()                # someone hooks on top of us ...
    heap.stop()                        # ... so we stay installed as a pass-through
    churn(50)
    tracemalloc.stop()
    heap.start(1024, seed=8)           # and can start again
    churn(50)
    heap.stop()
    assert heap.allocs_snapshot().total(0) > 0
    tracemalloc.start()                # tracemalloc under us, stopped while we run:
    heap.start(1024, seed=9)           # it restores what it wrapped, removing our hook
    tracemalloc.stop()
    heap.stop()
    heap.start(1024, seed=10)          # so the next start must install again
    churn(50)
    assert heap.snapshot().total(1) > 0
    heap.stop()
    print("ok", len(p.samples))
""")


@pytest.mark.slow
@pytest.mark.skipif("native" not in BACKENDS, reason="C extension not built")
def test_native_hook_survives_threads_gc_and_other_hooks() -> None:
    proc = subprocess.run([sys.executable, "-c", NATIVE_STRESS], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")


@pytest.mark.go
def test_heap_profile_opens_in_go_pprof(tmp_path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    heap.start(seed=3)
    try:
        kept = keep_alive_50mb()
        p, a = heap.snapshot(), heap.allocs_snapshot()
        del kept
    finally:
        heap.stop()
    save(p, tmp_path / "heap.pb.gz")
    save(a, tmp_path / "allocs.pb.gz")
    raw = go_pprof("-raw", str(tmp_path / "heap.pb.gz")).stdout
    assert "alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes" in raw
    top = go_pprof("-top", str(tmp_path / "heap.pb.gz")).stdout
    assert "Type: inuse_space" in top and "keep_alive_50mb" in top
    top = go_pprof("-top", str(tmp_path / "allocs.pb.gz")).stdout
    assert "Type: alloc_space" in top
    for flag, kind in (("-inuse_objects", "inuse_objects"), ("-alloc_space", "alloc_space")):
        assert f"Type: {kind}" in go_pprof("-top", flag, str(tmp_path / "heap.pb.gz")).stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_program_run_with_python_m_gets_its_allocations(tmp_path, backend: str) -> None:  # type: ignore[no-untyped-def]
    # under ``python -m app`` the stack's root frames are runpy's, which profkit leaves
    # out; that made every allocation look like profkit's own (an empty heap profile)
    (tmp_path / "heapapp.py").write_text(textwrap.dedent(f"""
        from profkit.collect import heap
        heap.start(backend={backend!r}, seed=7)
        def keep():
            return [bytearray(1 << 20) for _ in range(20)]
        kept = keep()
        p = heap.snapshot()
        heap.stop()
        i = p.sample_index("inuse_space")
        print(sum(s.values[i] for s in p.samples
                  if any(loc.lines[0].function.name.endswith(".keep") for loc in s.locations)))
    """))
    proc = subprocess.run([sys.executable, "-m", "heapapp"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.strip()) == pytest.approx(20 << 20, rel=0.2)
