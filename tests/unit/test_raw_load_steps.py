"""What pprof does on reading, for ``raw``: the load merge (``analysis.sample_merge``),
the profile's own drop_frames after it, tagroot frames numbered before tagleaf ones,
and every loaded location listed. The fast (message) path and the Profile path of
``raw`` write the same text for a profile with drop_frames. (go's own text is
checked by tests/integration/test_go_parity_raw.py.)"""

from __future__ import annotations

from pathlib import Path

from profkit.analysis.labelframes import add_label_frames
from profkit.analysis.sample_merge import merge_samples
from profkit.analysis.stacks import StackTable
from profkit.model import FrameKey, ProfileBuilder, save
from profkit.model.profile import Profile, Sample, ValueType
from profkit.options import ViewOptions
from profkit.render.raw_message_text import raw_from_message
from profkit.render.raw_text import render_raw
from profkit.report import ReportRequest, build


def _table(stacks, values, labels=None) -> StackTable:  # type: ignore[no-untyped-def]
    n = len(stacks)
    return StackTable(
        sample_types=[ValueType("samples", "count")],
        loc_lines={i: ((f"f{i}", "f.py", i, 1),) for i in range(1, 6)},
        loc_mapfile=dict.fromkeys(range(1, 6), ""), stacks=stacks, values=values,
        base=[False] * n, labels=labels or [{} for _ in range(n)],
        num_labels=[{} for _ in range(n)], num_units=[{} for _ in range(n)],
    )


def test_merge_drops_zero_samples_and_sums_equal_ones_in_place() -> None:
    t = _table([[1, 2], [3], [1, 2], [1, 2], [3]], [[0], [2], [5], [1], [4]],
               [{}, {}, {}, {"k": ["v"]}, {}])
    out = merge_samples(t)
    assert out.stacks == [[3], [1, 2], [1, 2]]
    assert [list(v) for v in out.values] == [[6], [5], [1]]
    assert out.labels == [{}, {}, {"k": ["v"]}]
    assert t.values[1] == [2]  # the input is not modified


def test_merge_returns_the_table_when_nothing_merges() -> None:
    t = _table([[1, 2], [3]], [[1], [2]])
    assert merge_samples(t) is t


def test_tagroot_frames_are_numbered_before_tagleaf_frames() -> None:
    t = _table([[1]], [[1]], [{"r": ["x"], "l": ["y"]}])
    out = add_label_frames(t, ["r"], ["l"])
    assert out.stacks == [[7, 1, 6]]  # leaf frame first in the stack, numbered second
    assert out.loc_lines[6][0][:2] == ("x", "r") and out.loc_lines[7][0][:2] == ("y", "l")


def _dropping() -> Profile:
    b = ProfileBuilder([("samples", "count")], mapping_filename="/bin/app")
    main, work = FrameKey("main", "m.py", 1, 1), FrameKey("work", "w.py", 2, 2)
    tick, tock = FrameKey("sampler.tick", "s.py", 3, 3), FrameKey("sampler.tock", "s.py", 4, 4)
    b.add([tick, work, main], [1])
    b.add([tock, work, main], [2])
    b.add([work, main], [4])
    p = b.build()
    p.samples.append(Sample(list(p.samples[2].locations), [8]))  # summed on reading
    p.drop_frames = "sampler\\..*"
    return p


def test_raw_keeps_dropped_frames_locations_and_samples_equal_only_after_dropping(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.pb.gz"
    save(_dropping(), path)
    fast = build(ReportRequest([str(path)], kind="raw"))
    slow = build(ReportRequest([str(path)], kind="raw", want_profile=True))
    text = raw_from_message(fast)
    assert text is not None and text == render_raw(slow) == render_raw(fast)
    samples = text.split("Samples:\n", 1)[1].split("Locations\n")[0].splitlines()[1:]
    assert samples == ["          1: 2 3 ", "          2: 2 3 ", "         12: 2 3 "]
    assert "sampler.tick" in text and "sampler.tock" in text  # listed, used by no sample
    with_all = render_raw(build(ReportRequest([str(path)], kind="raw",
                                              options=ViewOptions(all_frames=True))))
    assert "          1: 1 2 3 \n          2: 4 2 3 \n         12: 2 3 \n" in with_all
