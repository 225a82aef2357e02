"""merge / scale / normalize / subtract / diff / delta / compact: pprof's semantics."""

from __future__ import annotations

import pytest
from ops_profiles import by_stack, cpu_profile, totals

from profkit.analysis import (
    BASE_LABEL,
    compact,
    delta,
    diff,
    merge,
    normalize,
    scale,
    scale_n,
    subtract,
)
from profkit.analysis.scale import go_round
from profkit.model import (
    FrameKey,
    IncompatibleProfilesError,
    ProfileBuilder,
    check_valid,
    parse,
    serialize,
)
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType


def test_merge_sums_equal_stacks_and_keeps_inputs() -> None:
    a = cpu_profile({("m.f", "m.main"): 3, ("m.g", "m.main"): 1}, comments=["x"])
    b = cpu_profile({("m.f", "m.main"): 2}, time_nanos=500, duration_nanos=7, comments=["x", "y"])
    a_before, b_before = serialize(a, compress=False), serialize(b, compress=False)
    m = merge([a, b])
    check_valid(m)
    assert by_stack(m) == {
        (("m.f", "m.main"), ()): [5, 50_000_000],
        (("m.g", "m.main"), ()): [1, 10_000_000],
    }
    assert len(m.samples) == 2 and len(m.functions) == 3 and len(m.locations) == 3
    assert m.time_nanos == 500 and m.duration_nanos == 1_000_000_007
    assert m.comments == ["x", "y"] and m.period == 10_000_000
    assert serialize(a, compress=False) == a_before and serialize(b, compress=False) == b_before
    assert not ({id(f) for f in m.functions} & {id(f) for f in a.functions + b.functions})


def test_merge_header_rules() -> None:
    a = cpu_profile({("m.f",): 1}, time_nanos=0)
    b = cpu_profile({("m.f",): 1}, time_nanos=300)
    a.period, b.period = 5, 9
    a.default_sample_type, b.default_sample_type = "", "samples"
    b.doc_url = "https://example.test/doc"
    a.drop_frames, b.drop_frames = "drop.*", "other"
    m = merge([a, b])
    assert m.time_nanos == 300  # earliest nonzero
    assert m.period == 9
    assert m.default_sample_type == "samples" and m.doc_url == "https://example.test/doc"
    assert m.drop_frames == "drop.*"


def test_merge_renumbers_ids_and_drops_unused_objects() -> None:
    p = cpu_profile({("m.f", "m.main"): 1, ("m.g", "m.main"): 1})
    for i, f in enumerate(p.functions):
        f.id = 100 + i
    for i, loc in enumerate(p.locations):
        loc.id = 500 + i
    p.samples[1].values = [0, 0]
    m = compact(p)
    assert [f.id for f in m.functions] == [1, 2]
    assert [loc.id for loc in m.locations] == [1, 2]
    assert {f.name for f in m.functions} == {"m.f", "m.main"}


def test_merge_keeps_differently_labelled_samples_apart() -> None:
    a = cpu_profile({("m.f",): 1}, labels={"thread": "a"})
    b = cpu_profile({("m.f",): 2}, labels={"thread": "b"})
    c = cpu_profile({("m.f",): 4}, labels={"thread": "a"})
    m = merge([a, b, c])
    assert sorted(s.values[0] for s in m.samples) == [2, 5]


def test_merge_num_labels_with_units_are_part_of_the_key() -> None:
    b = ProfileBuilder([("alloc_space", "bytes")], period_type=("space", "bytes"), period=1)
    frame = [FrameKey("m.f")]
    b.add(frame, [10], num_labels={"size": (64, "bytes")})
    b.add(frame, [20], num_labels={"size": (64, "count")})
    b.add(frame, [30], num_labels={"size": (128, "bytes")})
    p = b.build()
    m = merge([p, p])
    got = sorted((s.num_labels["size"][0], s.num_units["size"][0], s.values[0]) for s in m.samples)
    assert got == [(64, "bytes", 20), (64, "count", 40), (128, "bytes", 60)]


def test_merge_dedups_mappings_by_size_offset_and_file() -> None:
    fn = Function(1, "f", "f", "f.go", 1)

    def prof(start: int) -> Profile:
        m = Mapping(1, start, start + 0x1800, 0, "/bin/app")
        loc = Location(1, m, start + 0x10, [Line(fn, 3)])
        return Profile(
            sample_types=[ValueType("samples", "count")],
            samples=[Sample([loc], [1])], mappings=[m], locations=[loc], functions=[fn],
        )

    m = merge([prof(0x400000), prof(0x7f0000)])  # address space randomisation
    assert len(m.mappings) == 1 and len(m.locations) == 1
    assert m.samples[0].values == [2]
    assert m.locations[0].address == 0x400010


def test_merge_incompatible_messages_are_pprofs() -> None:
    cpu = cpu_profile({("m.f",): 1})
    heap = ProfileBuilder([("inuse_space", "bytes")], period_type=("space", "bytes")).build()
    with pytest.raises(IncompatibleProfilesError, match="incompatible period types cpu/nanoseconds and space/bytes"):
        merge([cpu, heap])
    other = cpu_profile({("m.f",): 1})
    other.sample_types = [ValueType("samples", "count"), ValueType("wall", "nanoseconds")]
    with pytest.raises(IncompatibleProfilesError, match=r"incompatible sample types \[samples/count cpu/nanoseconds\]"):
        merge([cpu, other])
    with pytest.raises(ValueError):
        merge([])


def test_scale_rounds_half_away_from_zero_and_drops_zero_samples() -> None:
    p = cpu_profile({("m.f",): 1, ("m.g",): 3})
    s = scale(p, 0.5)
    assert by_stack(s) == {(("m.f",), ()): [1, 5_000_000], (("m.g",), ()): [2, 15_000_000]}
    s2 = scale(p, 0.1)
    assert [x.values for x in s2.samples] == [[0, 1_000_000], [0, 3_000_000]]
    assert scale(p, 0.0).samples == []
    assert totals(p) == [4, 40_000_000]  # input untouched
    n = scale_n(p, [1, -1])
    assert totals(n) == [4, -40_000_000]
    with pytest.raises(ValueError, match="mismatched scale ratios, got 1, want 2"):
        scale_n(p, [2])
    assert [go_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994)] == [1, 2, 3, -1, -3, 0]


def test_normalize_scales_to_base_totals() -> None:
    p = cpu_profile({("m.f",): 2, ("m.g",): 2})
    base = cpu_profile({("m.f",): 8})
    n = normalize(p, base)
    assert totals(n) == totals(base)
    assert by_stack(n)[(("m.f",), ())] == [4, 40_000_000]


def test_subtract_and_diff() -> None:
    base = cpu_profile({("m.f", "m.main"): 5, ("m.g", "m.main"): 2})
    new = cpu_profile({("m.f", "m.main"): 7, ("m.h", "m.main"): 1})
    sub = subtract(new, base)
    assert by_stack(sub) == {
        (("m.f", "m.main"), ()): [2, 20_000_000],
        (("m.g", "m.main"), ()): [-2, -20_000_000],
        (("m.h", "m.main"), ()): [1, 10_000_000],
    }
    d = diff(base, new)
    base_key = ((BASE_LABEL, ("true",)),)
    assert by_stack(d) == {
        (("m.f", "m.main"), ()): [7, 70_000_000],
        (("m.h", "m.main"), ()): [1, 10_000_000],
        (("m.f", "m.main"), base_key): [-5, -50_000_000],
        (("m.g", "m.main"), base_key): [-2, -20_000_000],
    }
    assert not any(BASE_LABEL in s.labels for s in base.samples)
    # the label survives the codec: a saved diff reopens as a diff
    again = parse(serialize(d))
    assert sum(1 for s in again.samples if s.labels.get(BASE_LABEL) == ["true"]) == 2


def test_diff_normalize_scales_new_to_base() -> None:
    base = cpu_profile({("m.f",): 10})
    new = cpu_profile({("m.f",): 5, ("m.g",): 5})
    d = diff(base, new, normalize=True)
    assert totals(d) == [0, 0]


def test_delta_is_p1_minus_p0_over_the_window() -> None:
    p0 = cpu_profile({("m.f",): 3}, time_nanos=1_000)
    p1 = cpu_profile({("m.f",): 5, ("m.g",): 1}, time_nanos=9_000)
    d = delta(p0, p1)
    assert by_stack(d) == {(("m.f",), ()): [2, 20_000_000], (("m.g",), ()): [1, 10_000_000]}
    assert d.time_nanos == 9_000 and d.duration_nanos == 8_000
    same = delta(p1, p1)
    assert same.samples == [] and same.locations == []
