"""The C readers: ``stacks_wire.from_wire`` (profile.proto bytes to a StackTable) and
``_kernels.flat_cum`` (top's flat/cum loop), each against its Python twin.

Properties: on every input the protobuf path reads, ``from_wire`` builds the same
table or returns None (then the protobuf path decides); on input the protobuf path
refuses, it returns None; it never raises but LimitError. ``flat_cum`` gives the
Python loop's sums, and None where they pass int64.
"""

from __future__ import annotations

import gzip
import random
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profkit.analysis import _kernels, kernels
from profkit.analysis.stacks import StackTable, from_message
from profkit.analysis.stacks_wire import available, from_wire
from profkit.errors import ProfileFormatError
from profkit.model import codec
from profkit.model._schema import ProfileMessage
from profkit.model.fileio import inflate
from profkit.model.limits import LimitError
from profkit.report.sources import load_table
from profkit.views import top as top_view

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _norm(t: StackTable) -> Any:
    return (t.sample_types, t.loc_lines, t.loc_mapfile, [tuple(s) for s in t.stacks],
            [tuple(v) for v in t.values], t.base, t.labels, t.num_labels, t.num_units,
            t.default_sample_type, t.time_nanos, t.duration_nanos, t.comments,
            t.main_file, t.main_build_id, t.loc_address)


def _protobuf_table(data: bytes, with_labels: bool) -> Optional[StackTable]:
    """The table of the protobuf path, None where it refuses the input."""
    try:
        msg = codec.decode(data)
        if not (msg.sample_type and msg.string_table):
            return None
        return from_message(msg, with_labels=with_labels)
    except ProfileFormatError:
        return None


def _agree(data: bytes) -> None:
    try:
        raw = inflate(data)
    except ProfileFormatError:  # a corrupt gzip stream: never reaches the reader
        return
    for with_labels in (False, True):
        try:
            wire = from_wire(raw, with_labels=with_labels)
        except ProfileFormatError:
            raise AssertionError("from_wire raised on input it should hand back") from None
        slow = _protobuf_table(data, with_labels)
        if wire is None:
            continue
        assert slow is not None, "from_wire accepted what the protobuf path refuses"
        assert _norm(wire.table) == _norm(slow)


def test_the_c_reader_is_built() -> None:
    assert available(), "profkit.model._pbtable was not built (make setup builds it)"


def _pprof_files() -> List[Path]:
    files = sorted(CORPUS.glob("*.cpu")) + sorted((ROOT / "tests" / "testdata").rglob("*.pb.gz"))
    return [f for f in files if f.is_file()]


@pytest.mark.parametrize("path", _pprof_files(), ids=lambda p: p.name)
def test_corpus_files_read_the_same_as_protobuf(path: Path) -> None:
    data = path.read_bytes()
    for with_labels in (False, True):
        slow = _protobuf_table(data, with_labels)
        wire = from_wire(inflate(data), with_labels=with_labels)
        if slow is None:
            assert wire is None
            continue
        assert wire is not None, f"{path.name}: the C reader handed back a valid profile"
        assert _norm(wire.table) == _norm(slow)


def _rich() -> ProfileMessage:
    """A message with everything the reader reads: mappings, inlined lines, labels of
    both kinds with units, a base sample, comments, drop/keep frames, C++ names."""
    m = ProfileMessage()
    m.string_table.extend([
        "", "cpu", "nanoseconds", "samples", "count", "main", "/bin/app", "build-1",
        "std::vector<int>::push_back(int)", "main.(*T).f", "f.go", "thread", "worker-1",
        "bytes", "size", "pprof::base", "true", "drop.*", "keep", "a comment", "héllo",
    ])
    m.sample_type.add(type=3, unit=4)
    m.sample_type.add(type=1, unit=2)
    m.period_type.type, m.period_type.unit, m.period = 1, 2, 10_000_000
    m.mapping.add(id=7, filename=6, build_id=7, memory_start=4096, memory_limit=8192)
    m.function.add(id=1, name=5, system_name=5, filename=10, start_line=3)
    m.function.add(id=2, name=8, system_name=8, filename=10)
    m.function.add(id=3, name=0, system_name=9, filename=10, start_line=9)
    m.function.add(id=4, name=20, system_name=9)
    m.location.add(id=1000, mapping_id=7, address=4100, line=[{"function_id": 1, "line": 4}])
    m.location.add(id=3, line=[{"function_id": 2, "line": 7}, {"function_id": 3, "line": -2}])
    m.location.add(id=2**63 + 5, line=[{"function_id": 4, "line": 1}])
    m.location.add(id=9, mapping_id=7)
    m.sample.add(location_id=[3, 1000], value=[1, 10])
    m.sample.add(location_id=[2**63 + 5, 9, 1000], value=[-2, -(2**62)],
                 label=[{"key": 11, "str": 12}, {"key": 14, "num": 64, "num_unit": 13}])
    m.sample.add(location_id=[], value=[0, 0], label=[{"key": 15, "str": 16}])
    m.sample.add(location_id=[1000], value=[3, 30], label=[{"key": 14, "num": 5}])
    m.drop_frames, m.keep_frames, m.default_sample_type = 17, 18, 1
    m.comment.extend([19, 20])
    m.time_nanos, m.duration_nanos = 1_700_000_000_000_000_000, 5
    return m


def test_a_rich_message_reads_the_same() -> None:
    data = _rich().SerializeToString()
    _agree(data)
    wire = from_wire(data, with_labels=True)
    assert wire is not None
    table, drop, keep = wire.table, wire.drop_frames, wire.keep_frames
    assert (drop, keep) == ("drop.*", "keep")
    assert table.base == [False, False, True, False]
    assert table.loc_lines[3][0][0] == "std::vector::push_back"  # pprof's C++ rewrite
    assert _agree(gzip.compress(data)) is None


def _varint(v: int) -> bytes:
    out = bytearray()
    v &= (1 << 64) - 1
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _field(num: int, payload: bytes) -> bytes:
    return _varint(num << 3 | 2) + _varint(len(payload)) + payload


def test_unpacked_repeated_fields_read_the_same() -> None:
    m = _rich()
    del m.sample[:]
    base = m.SerializeToString()
    # a sample written unpacked (proto2 style): location ids and values one by one
    smp = b"".join(_varint(1 << 3) + _varint(i) for i in (3, 1000))
    smp += b"".join(_varint(2 << 3) + _varint(v) for v in (4, 40))
    data = base + _field(2, smp) + _varint(13 << 3) + _varint(19)  # an unpacked comment
    _agree(data)
    table = from_wire(data).table  # type: ignore[union-attr]
    assert [tuple(s) for s in table.stacks] == [(3, 1000)] and table.comments[-1] == "a comment"


@pytest.mark.parametrize("change", [
    "string index", "first string", "repeated location", "missing function",
    "missing mapping", "value count", "dangling location", "zero id", "bad utf8",
    "truncated", "group", "label index",
])
def test_what_the_protobuf_path_refuses_is_handed_back(change: str) -> None:
    m = _rich()
    tail = b""
    if change == "string index":
        m.function[0].filename = 999
    elif change == "first string":
        m.string_table[0] = "x"
    elif change == "repeated location":
        m.location.add(id=3)
    elif change == "missing function":
        m.location[0].line[0].function_id = 77
    elif change == "missing mapping":
        m.location[0].mapping_id = 8
    elif change == "value count":
        m.sample[0].value.append(1)
    elif change == "dangling location":
        m.sample[0].location_id.append(4242)
    elif change == "zero id":
        m.function[0].id = 0
    elif change == "bad utf8":
        tail = _field(6, b"\xff\xfe")
    elif change == "group":
        tail = _varint(20 << 3 | 3)
    elif change == "label index":
        m.sample[1].label[0].str = 500
    data = m.SerializeToString() + tail
    if change == "truncated":
        data = data[:-3]
    assert from_wire(data) is None and from_wire(data, with_labels=True) is None


def test_limits_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROFKIT_MAX_SAMPLES", "2")
    with pytest.raises(LimitError):
        from_wire(_rich().SerializeToString())


@FUZZ
@given(st.binary(max_size=64), st.integers(0, 10**6), st.integers(0, 3))
def test_mutated_bytes_never_disagree(junk: bytes, at: int, how: int) -> None:
    data = bytearray(_rich().SerializeToString())
    i = at % (len(data) + 1)
    if how == 0:
        data[i:i] = junk
    elif how == 1:
        data[i:i + len(junk)] = junk
    elif how == 2:
        del data[i:i + 1 + len(junk)]
    else:
        data = data[:i]
    _agree(bytes(data))


def _python_flat_cum(t: StackTable, si: int, loc_nodes: Any) -> Tuple[Any, Any]:
    saved = kernels._kernels
    kernels._kernels = None
    try:
        return top_view._flat_cum(t, si, loc_nodes, _n_nodes(loc_nodes))
    finally:
        kernels._kernels = saved


def _n_nodes(loc_nodes: Any) -> int:
    return 1 + max(n for ns in loc_nodes.values() for n in ns)


def _random_table(rng: random.Random, big: bool) -> Tuple[StackTable, Any, int]:
    n_nodes = rng.randint(1, 30)
    loc_nodes = {lid: tuple(rng.randrange(n_nodes) for _ in range(rng.randint(1, 3)))
                 for lid in rng.sample(range(1, 10**6), rng.randint(1, 40))}
    ids = list(loc_nodes)
    stacks: List[Any] = []
    values: List[Any] = []
    hi = 2**62 if big else 1000
    for _ in range(rng.randint(0, 200)):
        stacks.append(tuple(rng.choice(ids) for _ in range(rng.randint(0, 8))))
        values.append((rng.randint(-hi, hi), rng.choice([0, 1, -5])))
    t = StackTable([], {}, {}, stacks, values, [False] * len(stacks))
    return t, loc_nodes, n_nodes


@pytest.mark.parametrize("seed", range(40))
def test_flat_cum_matches_the_python_loop(seed: int) -> None:
    rng = random.Random(seed)
    t, loc_nodes, _ = _random_table(rng, big=seed % 4 == 0)
    for si in (0, 1):
        fast = top_view._flat_cum(t, si, loc_nodes, _n_nodes(loc_nodes))
        slow = _python_flat_cum(t, si, loc_nodes)
        assert (dict(fast[0]), dict(fast[1])) == (dict(slow[0]), dict(slow[1]))


def test_flat_cum_hands_int64_overflow_back_and_names_a_missing_location() -> None:
    loc_nodes = {1: (0,), 2: (1, 0)}
    t = StackTable([], {}, {}, [(1,), (2, 1)], [(2**62,), (2**62,)], [False, False])
    assert _kernels.flat_cum(t.stacks, t.values, 0, loc_nodes, 2) is None
    flat, cum = top_view._flat_cum(t, 0, loc_nodes, 2)
    assert flat == {0: 2**62, 1: 2**62} and cum[0] == 2**63  # Python ints took it
    bad = StackTable([], {}, {}, [(1, 3)], [(1,)], [False])
    with pytest.raises(ProfileFormatError, match="nil location"):
        top_view._flat_cum(bad, 0, loc_nodes, 2)


def test_load_table_takes_the_c_path(tmp_path: Path) -> None:
    path = tmp_path / "p.pb.gz"
    path.write_bytes(gzip.compress(_rich().SerializeToString()))
    table = load_table(str(path), with_labels=False)
    assert table.message is None  # built by the C reader, not from a decoded message
    assert table.loc_lines[1000][0][:2] == ("main", "f.go")
    pruned = load_table(str(path), with_labels=False, all_frames=False)
    assert pruned is not table  # the profile's own drop_frames applied


def test_without_the_c_reader_the_protobuf_path_loads(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from profkit.analysis import stacks_wire

    path = tmp_path / "p.pb.gz"
    path.write_bytes(gzip.compress(_rich().SerializeToString()))
    fast = load_table(str(path), with_labels=True)
    monkeypatch.setattr(stacks_wire, "_pbtable", None)
    slow = load_table(str(path), with_labels=True)
    assert slow.message is not None and _norm(slow) == _norm(fast)


def _graph_twins(sp: Any, kept: Any, touching: Any) -> Tuple[Any, Any]:
    """(C, Python) results of node values and edges over the same stack paths."""
    from profkit.views import graph

    n = len(sp.keys)
    fast = (kernels.node_values(sp.paths, sp.weights, n, kept),
            kernels.edge_weights(sp.paths, sp.inline, sp.weights, n, kept, touching))
    saved = kernels._kernels
    kernels._kernels = None
    try:
        slow = (graph.node_values(sp, kept), graph._edges(sp, kept, touching))
    finally:
        kernels._kernels = saved
    return fast, slow


@pytest.mark.parametrize("seed", range(60))
def test_graph_kernels_match_the_python_loops(seed: int) -> None:
    from profkit.views import graph

    rng = random.Random(seed)
    t, loc_nodes, n_nodes = _random_table(rng, big=False)
    keys = [(f"n{i}", "", 0, "", 0, 0) for i in range(n_nodes)]
    div = rng.choice([None, 1])
    groups = kernels.group_paths(t.stacks, t.values, 0, div, loc_nodes, n_nodes)
    assert groups is not None
    saved = kernels._kernels
    kernels._kernels = None
    try:  # the Python grouping of stack_paths, through its public entry
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(graph, "assign_nodes", lambda *_a: (loc_nodes, keys))
            slow_sp = graph.stack_paths(t, 0, "functions", divisor_index=div)
    finally:
        kernels._kernels = saved
    assert groups == dict(zip(zip(slow_sp.paths, slow_sp.inline), slow_sp.weights))
    sp = graph.StackPaths(keys, [k[0] for k in keys], list(slow_sp.paths),
                          list(slow_sp.inline), list(slow_sp.weights))
    nodes = list(range(n_nodes))
    for kept in (None, set(rng.sample(nodes, rng.randint(0, n_nodes)))):
        for touching in (None, set(rng.sample(nodes, rng.randint(0, n_nodes)))):
            fast, slow = _graph_twins(sp, kept, touching)
            assert fast == slow


def test_graph_kernels_hand_int64_overflow_back() -> None:
    from profkit.views import graph

    keys = [("a", "", 0, "", 0, 0), ("b", "", 0, "", 0, 0)]
    sp = graph.StackPaths(keys, ["a", "b"], [(0, 1), (0, 1, 0)], [None, None], [2**62, 2**62])
    fast, slow = _graph_twins(sp, None, None)
    assert fast == (None, None)
    assert slow[0][1][0] == 2**63 and slow[1][0][1 * 2 + 0] == 2**63
    built = graph.build_graph(sp)  # falls back to Python's ints by itself
    assert built.out_edges[1][0].weight == 2**63


@pytest.mark.parametrize("seed", range(20))
def test_totals_kernel_matches_the_python_loop(seed: int) -> None:
    from profkit.report import driver

    rng = random.Random(seed)
    t, _, _ = _random_table(rng, big=seed % 5 == 0)
    t.base = [rng.random() < 0.3 for _ in t.values]
    for si, mi in ((0, 0), (0, 1), (1, 0)):
        fast = _kernels.totals(t.values, t.base, si, mi)
        slow = driver._python_totals(t, si, mi)
        assert fast is None or fast == slow
        if seed % 5:
            assert fast is not None  # small values: the kernel answers
        for mean in (None, mi):
            saved = kernels._kernels
            kernels._kernels = None
            try:
                expected = driver.total_of(t, si, mean)
            finally:
                kernels._kernels = saved
            assert driver.total_of(t, si, mean) == expected


def test_a_diff_reads_both_sides_in_c(tmp_path: Path) -> None:
    from profkit.analysis.table_merge import load_side

    path = tmp_path / "p.pb.gz"
    path.write_bytes(gzip.compress(_rich().SerializeToString()))
    side = load_side(str(path), with_labels=False, keys=False)
    assert side is not None and side.table.message is None  # the C reader's table
    assert side.period_type is not None and side.period_type.type == "cpu"
    assert side.has_mapping and (side.drop_frames, side.keep_frames) == ("drop.*", "keep")
    slow = load_side(str(path), with_labels=False, keys=True)  # Merge keys: protobuf
    assert slow is not None and slow.table.message is not None
    assert _norm(slow.table) == _norm(side.table) and slow.period_type == side.period_type
