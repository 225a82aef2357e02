"""Hypothesis properties of the profile algebra."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from ops_profiles import by_stack, totals

from profkit.analysis import compact, diff, merge, normalize, scale, subtract
from profkit.model import FrameKey, Profile, ProfileBuilder, check_valid

NAMES = ["m.a", "m.b", "m.c", "pkg.mod.f", "pkg.mod.<module>"]
stack = st.lists(st.sampled_from(NAMES), min_size=1, max_size=6)
label = st.one_of(st.none(), st.sampled_from(["t1", "t2"]))
entry = st.tuples(stack, st.integers(-50, 50), st.integers(-10**9, 10**9), label)


@st.composite
def profiles(draw: st.DrawFn) -> Profile:
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000,
    )
    for names, n, ns, lab in draw(st.lists(entry, max_size=12)):
        frames = [FrameKey(name, "f.py", len(name), 1) for name in names]
        b.add(frames, [n, ns], labels={"thread": lab} if lab else None)
    return b.build(time_nanos=draw(st.integers(0, 10**12)), duration_nanos=draw(st.integers(0, 10**9)))


@settings(max_examples=60, deadline=None)
@given(st.lists(profiles(), min_size=1, max_size=4), st.randoms())
def test_merge_is_order_independent_in_totals(ps: list, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(ps)
    rnd.shuffle(shuffled)
    a, b = merge(ps), merge(shuffled)
    check_valid(a)
    assert totals(a) == totals(b) == [sum(x) for x in zip(*(totals(p) for p in ps))]
    assert by_stack(a) == by_stack(b)


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_diff_of_a_profile_with_itself_cancels_after_compaction(p: Profile) -> None:
    d = diff(p, p)
    assert totals(d) == [0, 0]
    # strip the base label, as pprof does for display: everything cancels
    stripped = d.copy()
    for s in stripped.samples:
        s.labels.pop("pprof::base", None)
    c = compact(stripped)
    assert c.samples == [] and c.locations == [] and c.functions == []


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_scale_minus_one_twice_is_identity(p: Profile) -> None:
    assert by_stack(scale(scale(p, -1), -1)) == by_stack(p)


@settings(max_examples=60, deadline=None)
@given(profiles())
def test_merge_of_one_equals_compact(p: Profile) -> None:
    m, c = merge([p]), compact(p)
    assert totals(m) == totals(c) == totals(p)
    assert by_stack(m) == by_stack(c) == by_stack(p)
    assert all(any(s.values) for s in m.samples)


# --- laws with numeric labels, scaling and normalisation ---------------------------

num_label = st.one_of(st.none(), st.tuples(st.integers(0, 3).map(lambda i: 1 << (10 * i)), st.just("bytes")))
# Typical profiles for the scaling laws: positive counts, ns a multiple of the period.
positive_entry = st.tuples(stack, st.integers(1, 50), label, num_label)


@st.composite
def labelled_profiles(draw: st.DrawFn, *, positive: bool = False) -> Profile:
    """Profiles with string and numeric labels (``positive``: values > 0, as CPU profiles)."""
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000,
    )
    if positive:
        rows = [(names, n, n * 10_000_000 + draw(st.integers(0, 999)), lab, num)
                for names, n, lab, num in draw(st.lists(positive_entry, max_size=10))]
    else:
        rows = draw(st.lists(st.tuples(stack, st.integers(-50, 50), st.integers(-10**9, 10**9),
                                       label, num_label), max_size=10))
    for names, n, ns, lab, num in rows:
        frames = [FrameKey(name, "f.py", len(name), 1) for name in names]
        b.add(frames, [n, ns], labels={"thread": lab} if lab else None,
              num_labels={"bytes": num} if num else None)
    return b.build(duration_nanos=draw(st.integers(0, 10**9)))


def summed(*maps: dict) -> dict:
    """Return the key-wise sum of ``by_key`` maps, zeros dropped."""
    out: dict = {}
    for m in maps:
        for k, v in m.items():
            prev = out.get(k, [0] * len(v))
            out[k] = [a + b for a, b in zip(prev, v)]
    return {k: v for k, v in out.items() if any(v)}


def by_key(p: Profile) -> dict:
    """Return {(stack, string labels, numeric labels with units): values}, zeros dropped."""
    out: dict = {}
    for s in p.samples:
        key = (
            tuple(ln.function.name for loc in s.locations for ln in loc.lines),
            tuple(sorted((k, tuple(v)) for k, v in s.labels.items())),
            tuple(sorted((k, tuple(v), tuple(s.num_units.get(k, ()))) for k, v in s.num_labels.items())),
        )
        prev = out.get(key, [0] * len(s.values))
        out[key] = [a + b for a, b in zip(prev, s.values)]
    return {k: v for k, v in out.items() if any(v)}


@settings(max_examples=50, deadline=None)
@given(labelled_profiles(), labelled_profiles(), labelled_profiles())
def test_merge_is_associative(a: Profile, b: Profile, c: Profile) -> None:
    left, right, flat = merge([merge([a, b]), c]), merge([a, merge([b, c])]), merge([a, b, c])
    check_valid(flat)
    assert totals(left) == totals(right) == totals(flat)
    assert by_key(left) == by_key(right) == by_key(flat) == summed(by_key(a), by_key(b), by_key(c))
    assert len(flat.samples) == len(by_key(flat))  # equal keys were summed into one sample


@settings(max_examples=50, deadline=None)
@given(st.lists(labelled_profiles(), min_size=2, max_size=4), st.randoms())
def test_merge_with_numeric_labels_is_order_independent(ps: list, rnd) -> None:  # type: ignore[no-untyped-def]
    shuffled = list(ps)
    rnd.shuffle(shuffled)
    a, b = merge(ps), merge(shuffled)
    assert totals(a) == totals(b) == [sum(x) for x in zip(*(totals(p) for p in ps))]
    assert by_key(a) == by_key(b) == summed(*(by_key(p) for p in ps))


@settings(max_examples=50, deadline=None)
@given(labelled_profiles(), st.sampled_from([2, 3, 7, 10, -1, -4]))
def test_scale_by_k_then_by_one_over_k_is_identity(p: Profile, k: int) -> None:
    there = scale(p, k)
    assert totals(there) == [k * t for t in totals(p)]
    back = scale(there, 1 / k)
    assert totals(back) == totals(p)
    assert by_key(back) == by_key(p)


@settings(max_examples=50, deadline=None)
@given(labelled_profiles(positive=True), labelled_profiles(positive=True))
def test_normalize_makes_totals_equal_to_the_base(new: Profile, base: Profile) -> None:
    n = normalize(new, base)
    for i, (got, want, had) in enumerate(zip(totals(n), totals(base), totals(new))):
        if had == 0:
            assert got == 0  # nothing to scale: pprof's ratio is 0
        else:  # each sample is rounded once: at most 1/2 off per sample
            assert abs(got - want) <= len(new.samples) / 2, (i, got, want)
    d = diff(base, new, normalize=True)
    if all(totals(new)):
        assert all(abs(t) <= len(new.samples) / 2 for t in totals(d))


@settings(max_examples=50, deadline=None)
@given(labelled_profiles())
def test_subtract_of_a_profile_from_itself_is_empty(p: Profile) -> None:
    s = subtract(p, p)
    assert s.samples == [] and s.locations == [] and s.functions == []
    assert totals(s) == [0, 0]
    assert totals(diff(p, p)) == [0, 0]


@settings(max_examples=50, deadline=None)
@given(labelled_profiles())
def test_compact_preserves_totals_and_is_idempotent(p: Profile) -> None:
    c = compact(p)
    check_valid(c)
    assert totals(c) == totals(p)
    assert by_key(c) == by_key(p)
    assert [loc.id for loc in c.locations] == list(range(1, len(c.locations) + 1))
    again = compact(c)
    assert by_key(again) == by_key(c) and len(again.samples) == len(c.samples)
    assert len(again.locations) == len(c.locations) and len(again.functions) == len(c.functions)


@settings(max_examples=50, deadline=None)
@given(labelled_profiles())
def test_merge_of_one_equals_compacted_self_with_numeric_labels(p: Profile) -> None:
    m, c = merge([p]), compact(p)
    assert by_key(m) == by_key(c) == by_key(p)
    assert [s.num_units for s in m.samples] == [s.num_units for s in c.samples]
    assert all(any(s.values) for s in m.samples)
