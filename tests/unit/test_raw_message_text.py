"""``raw`` written from the decoded message (``render.raw_message_text``) is the text
``format_raw`` writes from the filtered Profile, on a profile built to hit each of
its cases: equal stacks summed (with and without labels), all-zero samples dropped,
locations unused, folded, without lines or mapping, adjacent mappings merged and the
main binary moved first, names pprof rewrites, system names that differ, control
characters; and a sample naming a location that does not exist is one
ProfileFormatError, not a crash. (go's own text is checked on real profiles by
tests/integration/test_go_parity_text.py.)"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import List

import pytest

from profkit.errors import ProfileFormatError
from profkit.model import save, serialize
from profkit.model._schema import ProfileMessage
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType
from profkit.options import ViewOptions
from profkit.render.raw_message_text import raw_from_message
from profkit.render.raw_text import render_raw
from profkit.report import ReportRequest, build


def _profile(labelled: bool) -> Profile:
    libc = Mapping(1, 0x1000, 0x2000, 0, "/lib/libc.so.6", "b1", True, True, True, False)
    main1 = Mapping(2, 0x4000, 0x5000, 0, "/bin/app", "b2", True, True, False, True)
    main2 = Mapping(3, 0x5000, 0x6000, 0x1000, "/bin/app", "", True, False, False, False)
    fns = [
        Function(1, "main.main", "main.main", "main.go", 10),
        Function(2, "work", "work_sys", "work.go", 3),
        Function(3, "", "std::vector<int>::push(int)", "vec.h", 0),
        Function(4, "evil\x1b]0;x\x07", "evil\x1b]0;x\x07", "e\nvil.go", 1),
        Function(5, "unused", "unused", "u.go", 1),
    ]
    locs = [
        Location(10, main1, 0x4010, [Line(fns[0], 12)]),
        Location(11, main2, 0x5010, [Line(fns[1], 4), Line(fns[2], 7)], is_folded=True),
        Location(12, libc, 0x1010, [Line(fns[2], 9)]),
        Location(13, None, 0x0, []),
        Location(14, main1, 0x4020, [Line(fns[3], 2)]),
        Location(15, main1, 0x4030, [Line(fns[4], 1)]),  # never used
    ]
    lab = {"thread": ["main"]} if labelled else {}
    num = {"bytes": [512]} if labelled else {}
    unit = {"bytes": ["bytes"]} if labelled else {}
    samples = [
        Sample([locs[1], locs[0]], [5, 50], dict(lab), dict(num), dict(unit)),
        Sample([locs[2], locs[1], locs[0]], [0, 0]),  # all zero: dropped
        Sample([locs[1], locs[0]], [2, 20], dict(lab), dict(num), dict(unit)),  # summed
        Sample([locs[1], locs[0]], [1, 10]),  # same stack, other labels
        Sample([locs[3], locs[2], locs[0]], [3, 30]),
        Sample([locs[4], locs[0]], [4, 40], {"route": ["/a", "/b"]} if labelled else {}),
        Sample([locs[3], locs[2], locs[0]], [1, 10]),  # summed into the fifth
    ]
    return Profile(
        sample_types=[ValueType("samples", "count"), ValueType("cpu", "nanoseconds")],
        samples=samples, mappings=[libc, main1, main2], locations=locs, functions=fns,
        time_nanos=1_700_000_000_123_000_000, duration_nanos=2_500_000_000,
        period_type=ValueType("cpu", "nanoseconds"), period=10_000_000,
        comments=["made by a test", "two\rlines"], default_sample_type="cpu",
    )


def _both(path: Path, options: ViewOptions) -> List[str]:
    fast = build(ReportRequest([str(path)], kind="raw", options=options))
    slow = build(ReportRequest([str(path)], kind="raw", options=options, want_profile=True))
    assert slow.profile is not None  # the Profile path: format_raw of the filtered Profile
    text = raw_from_message(fast)
    assert text is not None  # the message path was taken
    return [text, render_raw(slow), render_raw(fast)]


@pytest.mark.parametrize("labelled", [False, True])
@pytest.mark.parametrize("options", [
    ViewOptions(), ViewOptions(focus="work"), ViewOptions(ignore="evil"),
    ViewOptions(tagfocus="thread=main"), ViewOptions(sample_index="samples"),
], ids=["none", "focus", "ignore", "tagfocus", "sample_index"])
def test_message_text_is_the_profile_text(
    tmp_path: Path, labelled: bool, options: ViewOptions
) -> None:
    path = tmp_path / "p.pb.gz"
    save(_profile(labelled), path)
    fast, slow, rendered = _both(path, options)
    assert fast == slow == rendered
    assert "\\x1b]0;x\\x07" in fast and "\x1b" not in fast  # escaped, as format_raw does


def test_equal_samples_are_summed_and_zero_samples_dropped(tmp_path: Path) -> None:
    path = tmp_path / "p.pb.gz"
    save(_profile(False), path)
    text = _both(path, ViewOptions())[0]
    samples = text.split("Samples:\n", 1)[1].split("Locations\n")[0].splitlines()[1:]
    assert samples == [
        "          8         80: 1 2 ",
        "          4         40: 3 4 2 ",
        "          4         40: 5 2 ",
    ]
    assert "unused" not in text


def test_a_sample_of_a_missing_location_is_one_error(tmp_path: Path) -> None:
    msg = ProfileMessage()
    msg.ParseFromString(gzip.decompress(serialize(_profile(False))))
    msg.sample[0].location_id.append(99)  # a location id no location has
    path = tmp_path / "p.pb.gz"
    path.write_bytes(gzip.compress(msg.SerializeToString()))
    with pytest.raises(ProfileFormatError, match="nil location"):
        raw_from_message(build(ReportRequest([str(path)], kind="raw")))
