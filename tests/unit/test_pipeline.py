"""``pipeline.apply``: filters and granularity on a Profile, inputs untouched."""

from __future__ import annotations

from ops_profiles import by_stack, cpu_profile, totals

from profkit.analysis.pipeline import apply
from profkit.model import check_valid, serialize
from profkit.options import ViewOptions


def test_apply_focus_ignore_hide_show() -> None:
    p = cpu_profile({("m.f", "m.main"): 3, ("m.g", "m.main"): 1, ("m.h", "m.g", "m.main"): 2})
    before = serialize(p, compress=False)
    out = apply(p, ViewOptions(focus="m\\.g"))
    check_valid(out)
    assert totals(out) == [3, 30_000_000]
    assert apply(p, ViewOptions(ignore="m\\.h")).samples and totals(
        apply(p, ViewOptions(ignore="m\\.h"))
    ) == [4, 40_000_000]
    hidden = apply(p, ViewOptions(hide="main"))
    assert set(by_stack(hidden)) == {(("m.f",), ()), (("m.g",), ()), (("m.h", "m.g"), ())}
    shown = apply(p, ViewOptions(show="m\\.g"))
    assert by_stack(shown) == {(("m.g",), ()): [3, 30_000_000]}
    assert serialize(p, compress=False) == before


def test_apply_granularity_files_merges_functions_of_a_file() -> None:
    p = cpu_profile({("a.f", "a.main"): 1, ("a.g", "b.main"): 2})
    out = apply(p, ViewOptions(granularity="files"))
    check_valid(out)
    assert sorted(f.filename for f in out.functions) == ["a.py", "b.py"]
    assert all(f.name == "" for f in out.functions)
    assert totals(out) == totals(p)


def test_apply_tagfocus() -> None:
    a = cpu_profile({("m.f",): 1}, labels={"thread": "x"})
    out = apply(a, ViewOptions(tagfocus="thread=y"))
    assert out.samples == []
