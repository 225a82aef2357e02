"""Collapsed and speedscope exporters, and round trips through the importers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from profile_stacks import stacks, types

from profkit.load import load_any
from profkit.model import FrameKey, Profile, ProfileBuilder, check_valid, load
from profkit.render import collapsed, speedscope


def _profile() -> Profile:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000)
    mod = FrameKey("app.<module>", "/srv/app.py", 3, 1)
    main = FrameKey("app.main", "/srv/app.py", 9, 8)
    lam = FrameKey("app.main.<locals>.<lambda>", "/srv/app.py", 10, 10)
    odd = FrameKey("wéird;name", "/srv/ü.py", 2, 1)
    b.add([lam, main, mod], [3, 30_000_000], {"thread_id": "7", "thread_name": "MainThread"})
    b.add([main, mod], [1, 10_000_000], {"thread_id": "7", "thread_name": "MainThread"})
    b.add([odd, mod], [2, 20_000_000], {"thread_name": "worker"})
    b.add([odd], [4, 40_000_000])
    b.add([main, mod], [0, 0])  # dropped: all zero
    return b.build(duration_nanos=1_000_000_000)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_collapsed_output_is_exact() -> None:
    assert collapsed.render(_profile(), 1).splitlines() == [
        "thread (): worker;app.<module>;wéird:name 20000000",
        "thread (7): MainThread;app.<module>;app.main 10000000",
        "thread (7): MainThread;app.<module>;app.main;app.main.<locals>.<lambda> 30000000",
        "wéird:name 40000000",
    ]


def test_collapsed_round_trip_keeps_stacks_and_totals(tmp_path: Path) -> None:
    p = _profile()
    back = load_any(_write(tmp_path, "p.folded", collapsed.render(p, 0)))
    check_valid(back)
    expected = {tuple(n.replace(";", ":") for n in k): v for k, v in stacks(p, 0).items()}
    assert stacks(back, 0) == expected
    assert back.total(0) == p.total(0)


def test_collapsed_round_trip_of_a_go_profile(corpus: Path, tmp_path: Path) -> None:
    p = load(corpus / "sample.cpu")
    for index in range(len(p.sample_types)):
        back = load_any(_write(tmp_path, f"{index}.folded", collapsed.render(p, index)))
        assert stacks(back, 0) == stacks(p, index)
        assert back.total(0) == p.total(index)


def test_speedscope_output_follows_the_schema() -> None:
    doc = json.loads(speedscope.render(_profile(), 1))
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert doc["exporter"] == "profkit" and doc["name"] == "profkit: cpu/nanoseconds"
    frames = doc["shared"]["frames"]
    keys = [(f["name"], f.get("file"), f.get("line")) for f in frames]
    assert len(keys) == len(set(keys)) == 4  # shared: one entry per function
    assert all(isinstance(f["name"], str) for f in frames)
    assert [pr["name"] for pr in doc["profiles"]] == ["(unlabelled)", 'Thread 7 "MainThread"', "worker"]
    for pr in doc["profiles"]:
        assert pr["type"] == "sampled" and pr["unit"] == "nanoseconds"
        assert len(pr["samples"]) == len(pr["weights"])
        assert all(0 <= i < len(frames) for s in pr["samples"] for i in s)
        assert pr["endValue"] - pr["startValue"] == sum(pr["weights"])
    assert sum(sum(pr["weights"]) for pr in doc["profiles"]) == _profile().total(1)
    main = doc["profiles"][1]
    names = [[frames[i]["name"] for i in s] for s in main["samples"]]
    assert ["app.<module>", "app.main", "app.main.<locals>.<lambda>"] in names  # root first


def test_speedscope_round_trip_keeps_totals_type_and_threads(tmp_path: Path) -> None:
    p = _profile()
    back = load_any(_write(tmp_path, "p.json", speedscope.render(p, 1)))
    check_valid(back)
    assert types(back) == ["cpu/nanoseconds"]
    assert back.total(0) == p.total(1)
    assert stacks(back, 0) == stacks(p, 1)
    counts = load_any(_write(tmp_path, "c.json", speedscope.render(p, 0)))
    assert types(counts) == ["samples/count"] and counts.total(0) == p.total(0)


def test_speedscope_round_trip_of_a_go_profile(corpus: Path, tmp_path: Path) -> None:
    p = load(corpus / "sample.cpu")
    back = load_any(_write(tmp_path, "s.json", speedscope.render(p, 1)))
    assert back.total(0) == p.total(1)
    assert stacks(back, 0) == stacks(p, 1)


def test_exporters_reject_bad_index() -> None:
    with pytest.raises(IndexError):
        collapsed.render(_profile(), 2)
    with pytest.raises(IndexError):
        speedscope.render(_profile(), -1)


def test_collapsed_default_is_the_sample_count() -> None:
    p = _profile()
    assert collapsed.default_index(p) == 0  # samples/count, though cpu is the default type
    p.sample_types.reverse()
    assert collapsed.default_index(p) == 1
    heap = ProfileBuilder([("alloc_space", "bytes"), ("inuse_space", "bytes")]).build()
    assert collapsed.default_index(heap) == 1  # no count: the profile's default


def test_cli_pprof_collapsed_pprof_keeps_counts_as_counts(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from profkit.cli import main

    src = load(corpus / "sample.cpu")
    folded, back = tmp_path / "s.folded", tmp_path / "s2.pb.gz"
    assert main(["convert", str(corpus / "sample.cpu"), "-o", str(folded)]) == 0
    assert main(["convert", str(folded), "-o", str(back)]) == 0
    p = load(back)
    assert [(t.type, t.unit) for t in p.sample_types] == [("samples", "count")]
    assert p.total(0) == src.total(src.sample_index("samples")) == 176
    ns = tmp_path / "ns.folded"
    assert main(["convert", str(corpus / "sample.cpu"), "-o", str(ns), "--sample-index", "cpu"]) == 0
    assert load_any(ns).total(0) == src.total(src.sample_index("cpu")) == 1_760_000_000


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rate", "inf"], "--rate must be a positive, finite number of Hz, got inf"),
        (["--rate", "nan"], "--rate must be a positive, finite number of Hz, got nan"),
        (["--rate", "-100"], "--rate must be a positive, finite number of Hz, got -100.0"),
        (["--sample-index", "bogus", "-o", "q.pb.gz"],
         "--sample-index applies to collapsed and speedscope output only"),
        (["--sample-index", "cpu", "--to", "pprof"],
         "--sample-index applies to collapsed and speedscope output only"),
        (["--sample-index", "bogus"], "unknown sample index 'bogus'"),
    ],
)
def test_cli_convert_rejects_bad_flags(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list, message: str
) -> None:
    from profkit.cli import main

    if "-o" in args:
        args[args.index("-o") + 1] = str(tmp_path / args[args.index("-o") + 1])
    else:
        args = [*args, "-o", str(tmp_path / "out.folded")]
    assert main(["convert", str(corpus / "sample.cpu"), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"profkit: {message}") and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
