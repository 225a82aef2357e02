"""Collapsed-stack and speedscope importers on hand-written edge-case fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_stacks import stacks, types

from profkit.importers import collapsed, detect, speedscope
from profkit.load import load_any
from profkit.model import ProfileFormatError, check_valid

DATA = Path(__file__).resolve().parent.parent / "testdata" / "importers"


def test_collapsed_edge_cases_are_parsed_and_qualified() -> None:
    p = load_any(DATA / "edge.folded")
    check_valid(p)
    assert types(p) == ["samples/count"]
    assert len(p.mappings) == 1 and p.mappings[0].filename == "edge.folded"
    assert stacks(p, 0) == {
        ("app.main.<module>", "app.main.main", "app.main.main.<locals>.<lambda>"): 5,
        ("app.main.<module>", "app.main.main", "app.main.<genexpr>"): 3,
        ("thread_id=0x7f3a", "app.main.<module>", "app.main.main", "app.ünï.grüße"): 2,
        ("process=42", "thread_id=77", "thread_name=worker-1", "app.work.worker"): 4,
        ("plain", "frames", "only"): 7,
        ("?.<lambda>", "x"): 1,
        ("(no frames)",): 1,
    }
    assert p.total(0) == 23
    assert p.duration_nanos == 0  # the format has no duration


def test_collapsed_keeps_files_and_lines_of_pyspy_frames() -> None:
    p = collapsed.load(DATA / "edge.folded")
    by_name = {loc.lines[0].function.name: loc for loc in p.locations}
    lam = by_name["app.main.main.<locals>.<lambda>"]
    assert lam.lines[0].function.filename == "app/main.py"
    assert lam.lines[0].line == 11


def test_collapsed_with_rate_adds_cpu_time() -> None:
    p = load_any(DATA / "edge.folded", rate_hz=200)
    assert types(p) == ["samples/count", "cpu/nanoseconds"]
    assert p.total(1) == 23 * 5_000_000
    assert p.period == 5_000_000 and str(p.period_type) == "cpu/nanoseconds"


@pytest.mark.parametrize(
    "fixture, message",
    [
        ("no_count.folded", "no_count.folded:2: collapsed-stack line has no sample count"),
        ("bad_count.folded", "bad_count.folded:2: collapsed-stack line has no sample count"),
        ("not_speedscope.json", "JSON but not a speedscope file"),
        ("truncated.json", "not valid JSON"),
        ("unbalanced.speedscope.json", "closes frame 0, which is not the innermost open frame"),
        ("bad_index.speedscope.json", "frame index out of range"),
        ("unknown.txt", "expected pprof, pyinstrument session/JSON, speedscope JSON, collapsed stacks, pstats or memray capture"),
    ],
)
def test_malformed_inputs_give_one_line(fixture: str, message: str) -> None:
    with pytest.raises(ProfileFormatError) as info:
        load_any(DATA / fixture)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_unknown_format_message_names_the_file() -> None:
    with pytest.raises(ProfileFormatError, match=r"^cannot tell the format of .*unknown\.txt: "):
        detect(DATA / "unknown.txt")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(ProfileFormatError, match="no such file"):
        load_any(tmp_path / "nope.folded")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ProfileFormatError, match="empty file"):
        load_any(tmp_path / "empty")


def test_gzipped_text_formats_are_detected(tmp_path: Path) -> None:
    import gzip

    for name in ("edge.folded", "threads.speedscope.json"):
        gz = tmp_path / (name + ".gz")
        gz.write_bytes(gzip.compress((DATA / name).read_bytes()))
        assert stacks(load_any(gz), 0) == stacks(load_any(DATA / name), 0)


def test_speedscope_evented_profile_is_self_time() -> None:
    p = load_any(DATA / "evented.speedscope.json")
    check_valid(p)
    assert types(p) == ["wall/nanoseconds"]
    ms = 1_000_000
    assert stacks(p, 0) == {
        ("main.<module>",): 20 * ms,
        ("main.<module>", "main.main"): 15 * ms,
        ("main.<module>", "main.main", "main.<lambda>"): 30 * ms,
        ("main.<module>", "main.main", "main.<genexpr>"): 15 * ms,
        ("main.<module>", "main.main", "main.<genexpr>", "ünï.größe"): 20 * ms,
    }
    assert p.duration_nanos == 100 * ms
    assert not any(s.labels for s in p.samples)  # one profile: no thread label


def test_pyspy_thread_names_become_collector_labels(tmp_path: Path) -> None:
    doc = (DATA / "threads.speedscope.json").read_text()
    doc = doc.replace('"MainThread"', '"Thread 8929 \\"MainThread\\""')
    doc = doc.replace('"worker-1"', '"Thread 8931 \\"\\""')
    path = tmp_path / "pyspy.json"
    path.write_text(doc)
    p = load_any(path)
    labels = {tuple(sorted((k, v[0]) for k, v in s.labels.items())) for s in p.samples}
    assert labels == {(("thread_id", "8929"), ("thread_name", "MainThread")),
                      (("thread_id", "8931"),)}


def test_speedscope_profiles_become_thread_labels() -> None:
    p = speedscope.load(DATA / "threads.speedscope.json")
    check_valid(p)
    assert types(p) == ["samples/count", "wall/nanoseconds"]
    ms = 1_000_000
    assert stacks(p, 1) == {
        ("thread_name=MainThread", "svc.<module>", "svc.serve"): 10 * ms,
        ("thread_name=MainThread", "svc.<module>", "svc.serve", "pkg.handler.handle"): 10 * ms,
        ("thread_name=MainThread", "svc.<module>", "svc.serve", "pkg.handler.handle",
         "pkg.templates.render_html"): 10 * ms,
        ("thread_name=worker-1", "pkg.handler.handle", "pkg.templates.render_html"): 25 * ms,
        ("thread_name=worker-1", "pkg.handler.handle"): 15 * ms,
    }
    assert p.total(0) == 5
    assert p.duration_nanos == 40 * ms
    assert p.period == 10 * ms


def test_sniffers_do_not_claim_each_others_heads() -> None:
    folded = (DATA / "edge.folded").read_bytes()
    js = (DATA / "threads.speedscope.json").read_bytes()
    assert collapsed.sniff(folded, "x") and not speedscope.sniff(folded, "x")
    assert speedscope.sniff(js, "x") and not collapsed.sniff(js, "x")
    assert collapsed.sniff(b"[unknown];main 3\n", "x")
    assert not speedscope.sniff(b"[unknown];main 3\n", "x")


def test_pyspy_thread_named_late_is_one_thread(tmp_path: Path) -> None:
    # py-spy writes "thread (ID)" until threading knows the name, then "thread (ID): NAME"
    path = tmp_path / "t.folded"
    path.write_text("thread (5);<module> (m.py:1) 1\nthread (5): MainThread;<module> (m.py:1) 2\n"
                    "thread (6);f (m.py:3) 4\n")
    assert stacks(load_any(path), 0) == {
        ("thread_id=5", "thread_name=MainThread", "m.<module>"): 3,
        ("thread_id=6", "m.f"): 4,
    }
