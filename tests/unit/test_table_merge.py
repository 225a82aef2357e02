"""The StackTable diff path (``analysis.table_merge``) gives the Profile path's numbers.

Each case builds the same report twice: from file paths (the driver's table path)
and from loaded Profiles (``analysis.diff``/``subtract`` on Profile objects), and
compares the whole top table (rows, totals, headers) and its text.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, List

import pytest
from ops_profiles import cpu_profile

from profkit.analysis import table_merge
from profkit.errors import IncompatibleProfilesError
from profkit.load import load_any
from profkit.model import FrameKey, Profile, ProfileBuilder
from profkit.model.codec import save
from profkit.options import ViewOptions
from profkit.render.text import render_top
from profkit.report import ReportRequest, build
from profkit.views.top import top_from_report

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
LARGE, SMALL = CORPUS / "large.cpu", CORPUS / "sample.cpu"


def _both(new: str, base: str, mode: str, normalize: bool = False, **opts: Any) -> List[Any]:
    """Return [(table dict, text)] of the table path and of the Profile path."""
    out = []
    for new_src, base_src in ((new, base), (load_any(new), load_any(base))):
        r = build(ReportRequest(
            [new_src], options=ViewOptions(**opts), normalize=normalize, **{mode: [base_src]}
        ))
        t = top_from_report(r)
        out.append((t.to_dict(), render_top(t), r.is_diff))
    return out


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    d = tmp_path_factory.mktemp("pairs")
    made = {
        # the same functions at other location ids (builder numbers by first use)
        "a": cpu_profile({("m.f", "m.main"): 30, ("m.g", "m.h", "m.main"): 12,
                          ("m.rec", "m.rec", "m.main"): 5}),
        "b": cpu_profile({("m.k", "m.main"): 9, ("m.g", "m.h", "m.main"): 20,
                          ("m.f", "m.main"): 10}, duration_nanos=3_000_000_000,
                         comments=["second run"]),
        "labelled": cpu_profile({("m.f", "m.main"): 7, ("m.g", "m.main"): 3},
                                labels={"route": "/a"}),
        "labelled2": cpu_profile({("m.f", "m.main"): 2, ("m.k", "m.main"): 3},
                                 labels={"route": "/b"}),
    }
    paths = {}
    for name, p in made.items():
        paths[name] = str(d / f"{name}.pb.gz")
        save(p, paths[name])
    # same lines, other addresses: pprof's Merge keeps these locations apart
    moved = copy.deepcopy(made["a"])
    for loc in moved.locations:
        loc.address = 0x4000 + loc.id * 16
    paths["a_moved"] = str(d / "a_moved.pb.gz")
    save(moved, paths["a_moved"])
    dropping = copy.deepcopy(made["a"])
    dropping.drop_frames = "m\\.h"  # the profile's own drop_frames, applied on load
    paths["dropping"] = str(d / "dropping.pb.gz")
    save(dropping, paths["dropping"])
    paths["large"], paths["small"] = str(LARGE), str(SMALL)
    return paths


CASES = [
    ("a", "b", {}), ("b", "a", {}), ("dropping", "b", {}), ("b", "dropping", {}),
    ("a", "a", {}), ("a", "a_moved", {}),
    ("a", "b", {"granularity": "lines"}), ("a", "b", {"focus": "m\\.g", "cum": True}),
    ("labelled", "labelled2", {"tagfocus": "route=/b"}),
    ("labelled", "labelled2", {"sample_index": "samples", "hide": "m\\.main"}),
]


@pytest.mark.slow
@pytest.mark.parametrize(("new", "base", "mode", "normalize"), [
    ("large", "large", "subtract", False), ("large", "small", "diff_base", True),
])
def test_table_path_matches_profile_path_on_a_go_profile(
    pairs: Dict[str, str], new: str, base: str, mode: str, normalize: bool
) -> None:
    fast, slow = _both(pairs[new], pairs[base], mode, normalize, nodecount=30)
    assert fast == slow


@pytest.mark.parametrize("mode", ["diff_base", "subtract"])
@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("new", "base", "opts"), CASES)
def test_table_path_matches_profile_path(
    pairs: Dict[str, str], mode: str, normalize: bool, new: str, base: str, opts: Dict[str, Any]
) -> None:
    fast, slow = _both(pairs[new], pairs[base], mode, normalize, **opts)
    assert fast == slow


def test_the_table_path_is_taken_for_two_pprof_files(
    pairs: Dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import profkit.report.driver as driver

    def refuse(*_a: object, **_k: object) -> Profile:
        raise AssertionError("Profile path taken")

    monkeypatch.setattr(driver, "load_merged", refuse)
    r = build(ReportRequest([pairs["a"]], diff_base=[pairs["b"]]))
    assert r.is_diff
    rows = {row.name: row.flat for row in top_from_report(r).rows}
    assert rows["m.f"] == (30 - 10) * 10_000_000 and rows["m.k"] == -9 * 10_000_000
    r = build(ReportRequest([pairs["a"]], subtract=[pairs["a"]]))
    assert r.total == 0 and not r.table.stacks  # everything cancels, as in pprof


def test_diff_total_is_the_base_total_and_headers_merge(pairs: Dict[str, str]) -> None:
    r = build(ReportRequest([pairs["a"]], diff_base=[pairs["b"]]))
    assert r.total == (9 + 20 + 10) * 10_000_000
    assert r.table.duration_nanos == 4_000_000_000 and r.table.comments == ["second run"]


def test_incompatible_types_keep_the_profile_paths_message(tmp_path: Path) -> None:
    b = ProfileBuilder([("alloc_space", "bytes")], default_sample_type="alloc_space")
    b.add([FrameKey("m.f")], [10])
    heap = str(tmp_path / "heap.pb.gz")
    save(b.build(), heap)
    with pytest.raises(IncompatibleProfilesError) as got:
        build(ReportRequest([str(SMALL)], diff_base=[heap]))
    assert str(got.value).startswith(f"{heap}: incompatible ")
    assert str(got.value).endswith(f"(the base of {SMALL})")


def test_not_a_pprof_file_falls_back(tmp_path: Path) -> None:
    base, new = tmp_path / "base.folded", tmp_path / "new.folded"
    base.write_text("main;f 3\nmain;g 1\n")
    new.write_text("main;f 1\nmain;g 4\n")
    assert table_merge.load_side(str(base), with_labels=False, keys=False) is None
    r = build(ReportRequest([str(new)], diff_base=[str(base)]))
    rows = {row.name: row.flat for row in top_from_report(r).rows}
    assert r.is_diff and r.total == 4 and rows == {"f": -2, "g": 3, "main": 0}
