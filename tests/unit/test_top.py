"""``top`` and ``render_top`` on hand-built profiles: flat/cum rules, sorting, units."""

from __future__ import annotations

import pytest
from ops_profiles import cpu_profile

from profkit.analysis import diff
from profkit.analysis.measurement import percentage, scaled_label
from profkit.errors import InputError
from profkit.model import FrameKey, ProfileBuilder
from profkit.options import ViewOptions
from profkit.render.text import render_top
from profkit.views.top import top


def rows(p, **kw):  # type: ignore[no-untyped-def]
    t = top(p, ViewOptions(**kw))
    return {r.name: (r.flat, r.cum) for r in t.rows}


def test_flat_is_leaf_and_recursion_counts_once_in_cum() -> None:
    p = cpu_profile({("m.rec", "m.rec", "m.rec", "m.main"): 2, ("m.leaf", "m.rec", "m.main"): 1})
    got = rows(p, sample_index="samples", nodefraction=0)
    assert got == {"m.rec": (2, 3), "m.main": (0, 3), "m.leaf": (1, 1)}


def test_sorting_flat_then_name_and_cum_sort() -> None:
    p = cpu_profile({("m.b", "m.main"): 2, ("m.a", "m.main"): 2, ("m.c", "m.main"): 5})
    t = top(p, ViewOptions())
    assert [r.name for r in t.rows] == ["m.c", "m.a", "m.b", "m.main"]
    t = top(p, ViewOptions(cum=True, nodecount=2))
    assert [r.name for r in t.rows] == ["m.main", "m.c"]
    assert "Showing top 2 nodes out of 4" in render_top(t)


def test_nodefraction_drops_small_nodes_and_says_so() -> None:
    p = cpu_profile({("m.big", "m.main"): 999, ("m.tiny", "m.main"): 1})
    t = top(p, ViewOptions())
    assert [r.name for r in t.rows] == ["m.big", "m.main"]
    text = render_top(t)
    assert "Dropped 1 node (cum <= 0.05s)" in text
    assert "Showing nodes accounting for 9.99s, 99.90% of 10s total" in text


def test_focus_keeps_total_of_whole_profile() -> None:
    p = cpu_profile({("m.f", "m.main"): 3, ("m.g", "m.main"): 1})
    t = top(p, ViewOptions(focus="m\\.g"))
    assert t.total == 40_000_000 and t.shown_flat == 10_000_000
    assert "Active filters:\n   focus=m\\.g" in render_top(t)
    assert rows(p, ignore="m\\.f") == {"m.g": (10_000_000, 10_000_000), "m.main": (0, 10_000_000)}
    assert rows(p, hide="main") == {"m.f": (30_000_000, 30_000_000), "m.g": (10_000_000, 10_000_000)}
    assert rows(p, show="main") == {"m.main": (40_000_000, 40_000_000)}


def test_tagfocus_and_tagignore() -> None:
    b = ProfileBuilder([("samples", "count")], period_type=("samples", "count"), period=1)
    b.add([FrameKey("m.f")], [3], labels={"thread": "worker"})
    b.add([FrameKey("m.g")], [1], labels={"thread": "main"}, num_labels={"size": (4096, "bytes")})
    p = b.build()
    assert rows(p, tagfocus="thread=work") == {"m.f": (3, 3)}
    assert rows(p, tagignore="worker") == {"m.g": (1, 1)}
    assert rows(p, tagfocus="2kb:8kb") == {"m.g": (1, 1)}
    assert rows(p, tagfocus="8kb:") == {}


def test_diff_percentages_are_relative_to_base() -> None:
    base = cpu_profile({("m.f",): 4})
    new = cpu_profile({("m.f",): 6, ("m.g",): 2})
    t = top(diff(base, new), ViewOptions())
    assert t.is_diff and t.total == 40_000_000
    got = {r.name: (r.flat, round(r.flat_pct)) for r in t.rows}
    assert got == {"m.f": (20_000_000, 50), "m.g": (20_000_000, 50)}


def test_granularities_and_bad_options() -> None:
    p = cpu_profile({("m.f", "m.main"): 1})
    assert set(rows(p, granularity="files")) == {"m.py"}
    assert set(rows(p, granularity="lines")) == {"m.f m.py:10", "m.main m.py:10"}
    assert set(rows(p, granularity="filefunctions")) == {"m.f m.py", "m.main m.py"}
    with pytest.raises(InputError, match="unknown sample index 'x'.*samples, cpu"):
        top(p, ViewOptions(sample_index="x"))
    with pytest.raises(InputError, match="parsing focus regexp"):
        ViewOptions(focus="(")
    with pytest.raises(InputError, match="granularity"):
        ViewOptions(granularity="instructions")
    # a Python profile has no addresses: pprof's addresses granularity is lines there
    assert rows(p, granularity="addresses") == rows(p, granularity="lines")


def test_units_and_percentages_like_pprof() -> None:
    assert scaled_label(1_200_000_000, "nanoseconds", "minimum") == "1.20s"
    assert scaled_label(10_000_000, "nanoseconds", "minimum") == "10ms"
    assert scaled_label(5_767_168, "bytes", "minimum") == "5.50MB"
    assert scaled_label(0, "bytes", "minimum") == "0"
    assert scaled_label(42, "count", "minimum") == "42"
    assert percentage(1, 1) == "  100%" and percentage(3, 17600) == "0.017%"
    assert percentage(1, 3) == "33.33%" and percentage(0, 0) == "    0%"


def test_view_options_round_trip_pprof_url_names() -> None:
    o = ViewOptions(sample_index="cpu", focus="a", ignore="b", hide="c", show="d",
                    tagfocus="t=x", tagignore="y", granularity="lines", nodecount=7,
                    nodefraction=0.01, cum=True)
    q = o.to_query()
    assert q == {"si": "cpu", "f": "a", "i": "b", "h": "c", "s": "d", "tf": "t=x", "ti": "y",
                 "g": "lines", "n": "7", "nf": "0.01", "sort": "cum"}
    assert ViewOptions.from_query(q) == o
    assert ViewOptions.from_query({"f": ["x", "main"], "zzz": "1"}) == ViewOptions(focus="main")
    assert ViewOptions().to_query() == {}
    with pytest.raises(InputError):
        ViewOptions.from_query({"n": "many"})
