"""``profkit traces|tags|raw|comments|callgrind`` against the real ``go tool pprof`` (Go 1.19).

Each case runs both tools on the same file with the same options; traces, tags,
raw and comments must be byte-identical (which compares every value, label,
percentage and id), callgrind must have the same events total and the same self
cost per function. Inputs: the corpus (Go-written), a profkit-written profile
with string and numeric labels (with and without units), multi-valued labels and
an inlined frame, and a profkit-written diff.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from profkit.analysis import diff
from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, load, save
from profkit.model.profile import Line, Location, Sample

pytestmark = pytest.mark.go

SEPARATOR = "-----------+-------------------------------------------------------"


def labelled_profile(path: Path) -> None:
    """Write a CPU-like profile with labels of every kind and an inlined frame."""
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000, default_sample_type="cpu", comments=["profkit parity", "#hidden"],
        mapping_filename="/usr/bin/python3.11",
    )
    main_f = FrameKey("app.main", "/src/app.py", 10, 5)
    work = FrameKey("app.work", "/src/app.py", 22, 20)
    leaf = FrameKey("app.leaf", "/src/lib.py", 3, 1)
    mod = FrameKey("app.<module>", "/src/app.py", 1, 1)
    b.add([leaf, work, main_f], [3, 30_000_000], labels={"thread": "main", "route": "/a"},
          num_labels={"bytes": (2048, "bytes"), "request": 512})
    b.add([work, main_f], [2, 20_000_000], labels={"thread": "w1"}, num_labels={"worker": 3})
    b.add([leaf, main_f, mod], [5, 50_000_000], labels={"thread": "w1", "route": "/b"},
          num_labels={"latency": (1_500_000, "nanoseconds")})
    b.add([main_f], [1, 10_000_000])
    b.add([work, mod], [0, 0], labels={"thread": "idle"})
    p = b.build(duration_nanos=2_000_000_000, time_nanos=1_700_000_000_123_456_789)
    inlined = b.function("app.inlined", "/src/lib.py", 40)
    loc = Location(len(p.locations) + 1, p.mappings[0], 0x1234,
                   [Line(inlined, 41), Line(p.locations[0].lines[0].function, 4)])
    p.functions.append(inlined)
    p.locations.append(loc)
    p.samples.append(Sample(
        [loc, p.locations[1]], [4, 40_000_000], labels={"thread": ["main", "extra"]},
        num_labels={"bytes": [100, 200]}, num_units={"bytes": ["bytes", "bytes"]},
    ))
    save(p, path)


@pytest.fixture(scope="module")
def inputs(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """name -> path of every input the cases use (written once per module)."""
    d = tmp_path_factory.mktemp("parity-text")
    labels = d / "labels.pb.gz"
    labelled_profile(labels)
    sample = load(corpus / "sample.cpu")
    half = sample.copy()
    half.samples = half.samples[::2]
    save(half, d / "half.pb.gz")
    save(diff(half, sample), d / "diff.pb.gz")
    return {
        "sample": str(corpus / "sample.cpu"), "large": str(corpus / "large.cpu"),
        "labels": str(labels), "half": str(d / "half.pb.gz"), "diff": str(d / "diff.pb.gz"),
    }


def run_profkit(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out


# (report, input, go flags, profkit flags); {half} is replaced by that input's path
CASES: List[Any] = [
    ("traces", "sample", [], []),
    ("traces", "sample", ["-lines"], ["-g", "lines"]),
    ("traces", "sample", ["-focus=busyLoop", "-hide=runtime"], ["--focus", "busyLoop", "--hide", "runtime"]),
    ("traces", "sample", ["-diff_base={half}"], ["--diff-base", "{half}"]),
    pytest.param("traces", "large", [], [], marks=pytest.mark.slow),
    ("traces", "labels", [], []),
    ("traces", "labels", ["-files"], ["-g", "files"]),
    ("traces", "labels", ["-sample_index=samples", "-tagfocus=thread=w1"],
     ["--sample-index", "samples", "--tagfocus", "thread=w1"]),
    ("traces", "diff", [], []),
    ("traces", "sample", ["-unit=us", "-divide_by=3"], ["--unit", "us", "--divide_by", "3"]),
    ("traces", "labels", ["-mean"], ["--mean"]),
    ("traces", "labels", ["-tagshow=thread|bytes", "-focus=[[:lower:]]+\\.leaf"],
     ["--tagshow", "thread|bytes", "--focus", "[[:lower:]]+\\.leaf"]),
    ("tags", "labels", [], []),
    ("tags", "labels", ["-sample_index=samples"], ["--sample-index", "samples"]),
    ("tags", "labels", ["-tagignore=route=/a", "-focus=leaf"], ["--tagignore", "route=/a", "--focus", "leaf"]),
    ("tags", "sample", ["-diff_base={half}"], ["--diff-base", "{half}"]),
    ("tags", "labels", ["-taghide=route|request"], ["--taghide", "route|request"]),
    ("tags", "labels", ["-unit=ms"], ["--unit", "ms"]),
    ("raw", "sample", [], []),
    pytest.param("raw", "large", [], [], marks=pytest.mark.slow),
    ("raw", "labels", [], []),
    ("raw", "labels", ["-focus=work"], ["--focus", "work"]),
    ("raw", "sample", ["-hide=runtime"], ["--hide", "runtime"]),
    ("raw", "sample", ["-diff_base={half}"], ["--diff-base", "{half}"]),
    ("raw", "diff", [], []),
    ("raw", "labels", ["-tagshow=thread|bytes"], ["--tagshow", "thread|bytes"]),
    ("raw", "labels", ["-taghide=route", "-tagfocus=thread=main"],
     ["--taghide", "route", "--tagfocus", "thread=main"]),
    ("comments", "labels", [], []),
    ("comments", "sample", [], []),
]


@pytest.mark.parametrize("report,name,go_args,pk_args", CASES)
def test_text_report_matches_go_tool_pprof(  # type: ignore[no-untyped-def]
    inputs: Dict[str, str], go_pprof, capsys, report: str, name: str,
    go_args: List[str], pk_args: List[str],
) -> None:
    path = inputs[name]
    go_flags = [a.format(**inputs) for a in go_args]
    pk_flags = [a.format(**inputs) for a in pk_args]
    expected = go_pprof(f"-{report}", *go_flags, path).stdout
    got = run_profkit(capsys, report, *pk_flags, path)
    if report == "traces":
        assert got.count(SEPARATOR) > 2
    elif report == "tags" and name == "labels":
        assert "thread: Total" in got
    elif report == "raw":
        assert "Locations\n" in got and "Mappings\n" in got
    elif report == "comments" and name == "labels":
        assert got == "profkit parity\n#hidden\n"
    assert got == expected


def test_tags_and_traces_json_agree_with_text(inputs: Dict[str, str], capsys) -> None:  # type: ignore[no-untyped-def]
    import json

    doc = json.loads(run_profkit(capsys, "tags", "--json", inputs["labels"]))
    thread = next(t for t in doc["tags"] if t["key"] == "thread")
    assert thread["total"] == 180_000_000
    assert [(v["value"], v["count"]) for v in thread["values"]] == [
        ("main", 70_000_000), ("w1", 70_000_000), ("extra", 40_000_000)]
    traces = json.loads(run_profkit(capsys, "traces", "--json", inputs["labels"]))["traces"]
    inlined = [t for t in traces if t["frames"][0]["name"] == "app.inlined"]
    assert inlined and inlined[0]["frames"][0]["inline"] is True
    assert inlined[0]["frames"][1] == {"name": "app.leaf", "inline": False}
    assert inlined[0]["num_labels"] == {"bytes": [100, 200]}


LISTED = Path(__file__).resolve().parent.parent / "testdata" / "reports" / "text" / "listed_module.py"


@pytest.mark.parametrize("pattern,extra", [
    (r"listed_module\.(parse|render)", []), ("main", []), ("lambda", []),
    ("parse", ["unit=us", "divide_by=7"]),
])
def test_list_matches_go_tool_pprof_on_python_source(  # type: ignore[no-untyped-def]
    go_pprof, capsys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pattern: str,
    extra: List[str],
) -> None:
    """A profile of listed_module.py (on disk, older than the profile): same listing."""
    f = str(LISTED)
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000)
    m22, m23 = FrameKey("listed_module.main", f, 22, 21), FrameKey("listed_module.main", f, 23, 21)
    b.add([FrameKey("listed_module.parse", f, 12, 8), m22], [7, 70_000_000])
    b.add([FrameKey("listed_module.parse", f, 9, 8), m22], [2, 20_000_000])
    b.add([FrameKey("listed_module.render.<locals>.<lambda>", f, 17, 17),
           FrameKey("listed_module.render", f, 17, 16), m23], [4, 40_000_000])
    b.add([FrameKey("listed_module.render", f, 18, 16), m23], [3, 30_000_000])
    b.add([m23], [1, 10_000_000])
    path = tmp_path / "listed.pb.gz"
    save(b.build(duration_nanos=10**9), path)
    monkeypatch.chdir(tmp_path)
    go_flags = [f"-{e}" for e in extra]
    pk_flags = [a for e in extra for a in ("--" + e.split("=")[0], e.split("=")[1])]
    expected = go_pprof("-list", pattern, *go_flags, str(path)).stdout
    got = run_profkit(capsys, "list", pattern, *pk_flags, str(path))
    assert "ROUTINE" in got and got == expected


def _callgrind_costs(text: str) -> Tuple[int, Dict[str, int]]:
    """Return (sum of self costs, self cost per function name) of a callgrind file."""
    names: Dict[str, str] = {}
    per_fn: Dict[str, int] = defaultdict(int)
    fn = ""
    in_call = False
    for line in text.splitlines():
        m = re.match(r"^(c?fn)=\((\d+)\)(?: (.*))?$", line)
        if m:
            if m.group(3) is not None:
                names[m.group(2)] = m.group(3)
            if m.group(1) == "fn":
                fn = names[m.group(2)]
            continue
        if line.startswith("calls="):
            in_call = True
            continue
        m = re.match(r"^(\S+) (\S+) (-?\d+)$", line)
        if m:
            if in_call:
                in_call = False
            else:
                per_fn[fn] += int(m.group(3))
    per_fn = {k: v for k, v in per_fn.items() if v}
    return sum(per_fn.values()), per_fn


CALLGRIND_CASES = [
    ("sample", [], []),
    pytest.param("large", [], [], marks=pytest.mark.slow),
    ("labels", [], []),
    ("labels", ["-sample_index=samples", "-focus=leaf"], ["--sample-index", "samples", "--focus", "leaf"]),
    ("sample", ["-unit=us"], ["--unit", "us"]),
]


@pytest.mark.parametrize("name,go_args,pk_args", CALLGRIND_CASES)
def test_callgrind_costs_match_go_tool_pprof(  # type: ignore[no-untyped-def]
    inputs: Dict[str, str], go_pprof, capsys, tmp_path: Path, name: str,
    go_args: List[str], pk_args: List[str],
) -> None:
    path = inputs[name]
    go_out, pk_out = tmp_path / "go.callgrind", tmp_path / "pk.callgrind"
    go_pprof("-callgrind", f"-output={go_out}", *go_args, path)
    assert main(["callgrind", *pk_args, path, "--write", str(pk_out)]) == 0
    expected, got = go_out.read_text(), pk_out.read_text()
    assert got.splitlines()[:2] == expected.splitlines()[:2]  # positions, events
    go_total, go_fns = _callgrind_costs(expected)
    pk_total, pk_fns = _callgrind_costs(got)
    assert go_total > 0 and pk_total == go_total
    assert pk_fns == go_fns
    assert got == expected  # byte for byte, name compression and relative addresses too
