"""pprof's options that change numbers, their URL names and both flag spellings."""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest

from profkit.cli import main
from profkit.errors import InputError
from profkit.model import FrameKey, ProfileBuilder, save
from profkit.options import ViewOptions
from profkit.report import ReportRequest, build
from profkit.views.top import top_from_report


@pytest.fixture(scope="module")
def prof(tmp_path_factory: pytest.TempPathFactory) -> str:
    b = ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes"),
                        ("inuse_objects", "count"), ("inuse_space", "bytes")])
    a = FrameKey("app.Alpha", "app/a.py", 1, 1)
    z = FrameKey("app.zeta", "app/z.py", 2, 2)
    tick = FrameKey("profkit.collect.tick", "profkit/collect/t.py", 3, 3)
    b.add([a, z], [4, 4096, 1, 1024], labels={"route": "/a"})
    b.add([z], [2, 8192, 2, 8192], labels={"route": "/z"})
    b.add([tick, a], [1, 100, 1, 100])
    p = b.build()
    p.drop_frames = "profkit\\..*"
    path = tmp_path_factory.mktemp("opts") / "heap.pb.gz"
    save(p, path)
    return str(path)


def top(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["top", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("spelling", [
    ["--focus", "Alpha"], ["--focus=Alpha"], ["-focus=Alpha"], ["-focus", "Alpha"],
])
def test_focus_spellings_agree(capsys: pytest.CaptureFixture[str], prof: str,
                               spelling: List[str]) -> None:
    out = top(capsys, *spelling, prof)
    assert "focus=Alpha" in out and "app.Alpha" in out
    assert out == top(capsys, "--focus", "Alpha", prof)


@pytest.mark.parametrize("spellings", [
    (["-sample_index=alloc_space"], ["--sample-index", "alloc_space"], ["-si", "alloc_space"],
     ["-alloc_space"], ["--si=1"]),
    (["-cum", "-alloc_objects"], ["-cum=true", "-si=0"], ["--cum", "--alloc-objects"]),
    (["-nodecount=1"], ["-n", "1"], ["-n=1"], ["--nodecount", "1"]),
    (["-show_from=Alpha"], ["--show-from", "Alpha"], ["--show_from=Alpha"]),
    (["-lines"], ["-granularity=lines"], ["-g", "lines"]),
])
def test_go_and_gnu_spellings_give_the_same_report(
    capsys: pytest.CaptureFixture[str], prof: str, spellings: tuple
) -> None:
    outs = {top(capsys, *s, prof) for s in spellings}
    assert len(outs) == 1
    assert outs != {top(capsys, prof)}  # the option did something


def test_boolean_false_turns_an_option_off(capsys: pytest.CaptureFixture[str], prof: str) -> None:
    assert top(capsys, "-cum=false", prof) == top(capsys, prof)
    trimmed = top(capsys, "-nodefraction=0.9", prof)
    assert "Dropped" in trimmed
    assert "Dropped" not in top(capsys, "-nodefraction=0.9", "-trim=false", prof)


def test_alloc_shortcuts_select_the_sample_type(prof: str) -> None:
    from profkit.cli import build_parser
    from profkit.cli._report_args import options_from_args

    for flag, stype in (("-alloc_objects", "alloc_objects"), ("-inuse_objects", "inuse_objects")):
        args = build_parser().parse_args(["top", flag, prof])
        assert options_from_args(args).sample_index == stype
    args = build_parser().parse_args(["top", "-mean_delay", prof])
    o = options_from_args(args)
    assert (o.sample_index, o.mean) == ("delay", True)


def test_drop_frames_of_the_profile_apply_unless_all_frames(prof: str) -> None:
    def names(**kw: object) -> List[str]:
        r = build(ReportRequest([prof], options=ViewOptions(sample_index="alloc_objects", **kw)))
        return [row.name for row in top_from_report(r).rows]

    assert "profkit.collect.tick" not in names()
    assert "profkit.collect.tick" in names(all_frames=True)


def test_mean_divides_each_node_by_its_count(prof: str) -> None:
    r = build(ReportRequest([prof], options=ViewOptions(sample_index="alloc_space", mean=True)))
    t = top_from_report(r)
    assert t.sample_type == "mean_alloc_space"
    rows = {row.name: row for row in t.rows}
    assert rows["app.zeta"].flat == 8192 // 2  # the leaf of the second sample only
    assert rows["app.zeta"].cum == (4096 + 8192) // (4 + 2)  # both samples
    assert r.total == (4096 + 8192 + 100) // 7


def test_relative_percentages_use_the_focused_total(prof: str) -> None:
    o = dict(sample_index="alloc_objects", focus="Alpha")
    assert build(ReportRequest([prof], options=ViewOptions(**o))).total == 7
    rel = build(ReportRequest([prof], options=ViewOptions(relative_percentages=True, **o)))
    assert rel.total == 5


def test_tagroot_adds_label_frames_above_the_root(prof: str) -> None:
    r = build(ReportRequest([prof], options=ViewOptions(sample_index="alloc_objects",
                                                        tagroot="route")))
    cum = {row.name: row.cum for row in top_from_report(r).rows}
    assert cum["/a"] == 4 and cum["/z"] == 2


def test_query_names_round_trip_every_new_option() -> None:
    o = ViewOptions(show_from="a", prune_from="b", tagshow="c", taghide="d", tagroot="k",
                    tagleaf="l", mean=True, unit="ms", drop_negative=True,
                    relative_percentages=True, divide_by=2.5, call_tree=True,
                    edgefraction=0.01, trim=False, noinlines=True)
    q = o.to_query()
    assert {"sf", "prunefrom", "ts", "th", "tagroot", "tagleaf", "mean", "unit", "dropneg",
            "rel", "divide_by", "calltree", "ef", "trim", "noinlines"} <= set(q)
    assert ViewOptions.from_query(q) == o
    assert ViewOptions.from_query({"rel": ["false", "1"]}).relative_percentages is True


@pytest.mark.parametrize("query,message", [
    ({"mean": "maybe"}, "mean must be true or false"),
    ({"divide_by": "0"}, "divide_by must be a finite non-zero number"),
    ({"ef": "2"}, "edgefraction must be in [0, 1]"),
    ({"sf": "("}, "parsing show_from regexp"),
    ({"n": "x"}, "n must be a number"),
])
def test_bad_query_values_are_one_line(query: dict, message: str) -> None:
    with pytest.raises(InputError) as e:
        ViewOptions.from_query(query)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("argv,message", [
    (["-focus=("], "profkit: parsing focus regexp '(': missing ): ("),
    (["-sample_index=nope"], "profkit: unknown sample index 'nope'"),
    (["-divide_by=0"], "profkit: divide_by must be a finite non-zero number"),
])
def test_hostile_flags_fail_in_one_line(capsys: pytest.CaptureFixture[str], prof: str,
                                        argv: List[str], message: str) -> None:
    assert main(["top", *argv, prof]) == 1
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str], prof: Path) -> None:
    assert main(["top", "-nonsense=1", str(prof)]) == 2


def test_a_bad_drop_frames_pattern_is_ignored_as_pprof_does(tmp_path: Path) -> None:
    b = ProfileBuilder([("samples", "count")])
    b.add([FrameKey("app.f", "app.py", 1, 1)], [3])
    p = b.build()
    p.drop_frames = "app\\.(f"
    path = tmp_path / "bad-drop.pb.gz"
    save(p, path)
    r = build(ReportRequest([str(path)]))
    assert [row.name for row in top_from_report(r).rows] == ["app.f"]
