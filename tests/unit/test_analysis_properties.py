"""Hypothesis properties of the profile algebra."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from ops_profiles import by_stack, totals

from profkit.analysis import compact, diff, merge, scale
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
