"""profkit's analysis against the real ``go tool pprof`` (Go 1.19).

``profkit top`` must print what ``go tool pprof -top`` prints, line for line, and
the profiles profkit writes (merge, diff, round trips) must be read back by pprof
with the right totals.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from profkit.analysis import diff, merge
from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, load, parse, save, serialize

pytestmark = pytest.mark.go


def profkit_top(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["top", *argv]) == 0
    return capsys.readouterr().out


def rows(text: str) -> Dict[str, Tuple[str, str]]:
    """Return {name: (flat, cum)} from a -top table."""
    out = {}
    for line in text.splitlines():
        m = re.match(r"^\s*(\S+)\s+\S+%\s+\S+%\s+(\S+)\s+\S+%\s+(.+)$", line)
        if m and m.group(1) != "flat":
            out[m.group(3)] = (m.group(1), m.group(2))
    return out


CASES: List[Tuple[List[str], List[str]]] = [
    (["-nodecount=20"], ["-n", "20"]),
    (["-nodecount=20", "-sample_index=samples"], ["-n", "20", "--sample-index", "samples"]),
    (["-nodecount=10", "-sample_index=cpu", "-cum"], ["-n", "10", "--sample-index", "cpu", "--cum"]),
    (["-focus=runtime"], ["--focus", "runtime"]),
    (["-ignore=mapiternext|time\\.now$"], ["--ignore", "mapiternext|time\\.now$"]),
    (["-hide=runtime", "-nodecount=8"], ["--hide", "runtime", "-n", "8"]),
    (["-show=main|time"], ["--show", "main|time"]),
    (["-files"], ["--granularity", "files"]),
    (["-lines", "-nodecount=15"], ["--granularity", "lines", "-n", "15"]),
]


@pytest.mark.parametrize("name", ["sample.cpu", "large.cpu"])
@pytest.mark.parametrize("go_args,pk_args", CASES)
def test_top_matches_go_tool_pprof(  # type: ignore[no-untyped-def]
    corpus: Path, go_pprof, capsys, name: str, go_args: List[str], pk_args: List[str]
) -> None:
    path = str(corpus / name)
    expected = go_pprof("-top", *go_args, path).stdout
    got = profkit_top(capsys, *pk_args, path)
    assert rows(got) == rows(expected) and rows(got)
    assert got == expected


def test_merged_profile_is_read_by_pprof(corpus: Path, go_pprof, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "merged.pb.gz"
    src = str(corpus / "sample.cpu")
    assert main(["merge", src, src, src, "-o", str(out)]) == 0
    raw = go_pprof("-raw", str(out)).stdout
    assert "Samples:" in raw and "Locations" in raw
    top = go_pprof("-top", "-nodecount=5", str(out)).stdout
    assert "Total samples = 5280ms" in top  # 3 x 1.76s
    assert profkit_top(capsys, "-n", "5", str(out)) == top


@pytest.mark.parametrize("normalize", [False, True])
def test_diff_file_reopens_as_pprof_diff(  # type: ignore[no-untyped-def]
    corpus: Path, go_pprof, tmp_path: Path, capsys, normalize: bool
) -> None:
    base = load(corpus / "sample.cpu")
    b = base.copy()  # a "new" profile: drop every sample of runtime.mapiternext
    b.samples = [s for s in b.samples if s.locations[0].lines[0].function.name != "runtime.mapiternext"]
    new_path, base_path = tmp_path / "new.pb.gz", tmp_path / "base.pb.gz"
    save(b, new_path)
    save(base, base_path)
    out = tmp_path / "diff.pb.gz"
    extra = ["--normalize"] if normalize else []
    assert main(["diff", str(base_path), str(new_path), "-o", str(out), *extra]) == 0
    printed = capsys.readouterr().out
    go_extra = ["-normalize"] if normalize else []
    expected = go_pprof("-top", *go_extra, "-diff_base", str(base_path), str(new_path)).stdout
    reopened = go_pprof("-top", str(out)).stdout
    assert rows(reopened) == rows(expected)
    assert normalize or "Total samples = 1.76s" in reopened
    assert printed == expected
    assert "pprof::base" in go_pprof("-raw", str(out)).stdout


def test_diff_api_round_trip_through_pprof(corpus: Path, go_pprof, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    a = load(corpus / "sample.cpu")
    d = diff(a, merge([a, a]))
    path = tmp_path / "d.pb.gz"
    save(d, path)
    top = go_pprof("-top", str(path)).stdout
    assert "Showing nodes accounting for 1.76s, 100% of 1.76s total" in top


def test_python_names_survive_and_match(go_pprof, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    b = ProfileBuilder(
        [("samples", "count"), ("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
        period=10_000_000, default_sample_type="cpu",
    )
    mod = FrameKey("pkg.mod.<module>", "pkg/mod.py", 1, 1)
    bare = FrameKey("<module>", "x.py", 1, 1)
    lam = FrameKey("pkg.mod.f.<locals>.<lambda>", "pkg/mod.py", 5, 4)
    gen = FrameKey("pkg.mod.f.<locals>.<genexpr>", "pkg/mod.py", 6, 4)
    b.add([lam, mod], [3, 30_000_000], labels={"thread": "main"})
    b.add([gen, lam, mod], [2, 20_000_000], labels={"thread": "w"})
    b.add([bare], [1, 10_000_000])
    path = tmp_path / "py.pb.gz"
    save(b.build(duration_nanos=1_000_000_000), path)
    for args in ([], ["--cum"], ["--granularity", "lines"], ["--tagfocus", "thread=w"]):
        go_args = [a.replace("--granularity", "").replace("lines", "-lines") for a in args if a != "--granularity"]
        go_args = [{"--cum": "-cum", "--tagfocus": "-tagfocus"}.get(a, a) for a in go_args]
        if "-tagfocus" in go_args:
            go_args = ["-tagfocus=thread=w"]
        expected = go_pprof("-top", *go_args, str(path)).stdout
        assert profkit_top(capsys, *args, str(path)) == expected, args


GO_PROGRAM = """package main

import (
	"os"
	"runtime/pprof"
	"time"
)

//go:noinline
func spin(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i % 7
	}
	return s
}

func main() {
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		panic(err)
	}
	deadline := time.Now().Add(300 * time.Millisecond)
	total := 0
	for time.Now().Before(deadline) {
		total += spin(100000)
	}
	pprof.StopCPUProfile()
	f.Close()
	if total == 42 {
		println(total)
	}
}
"""


@pytest.mark.slow
def test_real_go_cpu_profile_round_trip(go_bin: str, go_pprof, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "prog"
    src.mkdir()
    (src / "main.go").write_text(GO_PROGRAM)
    (src / "go.mod").write_text("module busy\n\ngo 1.19\n")
    env = dict(
        os.environ, GOFLAGS="-mod=mod", GOPATH=str(tmp_path / "gopath"),
        GOCACHE=str(tmp_path / "gocache"), GOPROXY="off", CGO_ENABLED="0",
    )
    exe = tmp_path / "busy"
    subprocess.run([go_bin, "build", "-o", str(exe), "."], cwd=src, env=env, check=True,
                   capture_output=True, timeout=240)
    prof = tmp_path / "cpu.pb.gz"
    subprocess.run([str(exe), str(prof)], check=True, timeout=60)
    p = load(prof)
    assert p.sample_types[1].type == "cpu" and p.samples
    assert any("main.spin" == f.name for f in p.functions)
    again = tmp_path / "again.pb.gz"
    save(parse(serialize(p)), again)
    for path in (prof, again):
        expected = go_pprof("-top", str(path)).stdout
        assert profkit_top(capsys, str(path)) == expected
    assert rows(go_pprof("-top", str(again)).stdout) == rows(go_pprof("-top", str(prof)).stdout)


def test_cli_subprocess_top_matches(corpus: Path, go_pprof) -> None:  # type: ignore[no-untyped-def]
    path = str(corpus / "large.cpu")
    proc = subprocess.run([sys.executable, "-m", "profkit", "top", path],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == go_pprof("-top", path).stdout


def _heap_profiles(tmp_path: Path) -> Dict[str, Path]:
    from profkit.analysis import subtract

    def builder() -> ProfileBuilder:
        return ProfileBuilder(
            [("inuse_objects", "count"), ("inuse_space", "bytes")],
            period_type=("space", "bytes"), period=524288,
        )

    main_frame = FrameKey("m.main", "m.py", 9, 8)
    b = builder()
    paths = {"empty": tmp_path / "empty.pb.gz"}
    save(b.build(), paths["empty"])
    b.add([FrameKey("m.f", "m.py", 3, 1), main_frame], [3, 3 << 20], num_labels={"bytes": 1 << 20})
    b.add([FrameKey("m.g", "m.py", 5, 4), main_frame], [1, 700], num_labels={"bytes": 700})
    heap = b.build()
    paths["heap"] = tmp_path / "heap.pb.gz"
    save(heap, paths["heap"])
    b2 = builder()
    b2.add([FrameKey("m.g", "m.py", 5, 4), main_frame], [5, 5 << 30])
    paths["subtracted"] = tmp_path / "sub.pb.gz"
    save(subtract(heap, b2.build()), paths["subtracted"])
    return paths


@pytest.mark.parametrize("kind", ["empty", "heap", "subtracted"])
@pytest.mark.parametrize("index", ["inuse_space", "inuse_objects"])
def test_heap_like_and_negative_profiles_match(  # type: ignore[no-untyped-def]
    go_pprof, tmp_path: Path, capsys, kind: str, index: str
) -> None:
    path = _heap_profiles(tmp_path)[kind]
    expected = go_pprof("-top", f"-sample_index={index}", str(path)).stdout
    assert profkit_top(capsys, "--sample-index", index, str(path)) == expected


@pytest.mark.parametrize("spec", ["1kb:", ":1kb", "bytes=700"])
def test_numeric_tagfocus_matches(go_pprof, tmp_path: Path, capsys, spec: str) -> None:  # type: ignore[no-untyped-def]
    path = _heap_profiles(tmp_path)["heap"]
    expected = go_pprof("-top", f"-tagfocus={spec}", str(path)).stdout
    assert profkit_top(capsys, "--tagfocus", spec, str(path)) == expected


@pytest.mark.parametrize("flag", ["base", "diff_base"])
@pytest.mark.parametrize("normalize", [False, True])
def test_top_base_flags_match(  # type: ignore[no-untyped-def]
    corpus: Path, go_pprof, tmp_path: Path, capsys, flag: str, normalize: bool
) -> None:
    base = load(corpus / "sample.cpu")
    new = base.copy()
    new.samples = new.samples[::2]
    base_path, new_path = tmp_path / "base.pb.gz", tmp_path / "new.pb.gz"
    save(base, base_path)
    save(new, new_path)
    go_args = [f"-{flag}", str(base_path)] + (["-normalize"] if normalize else [])
    pk_args = [f"--{flag.replace('_', '-')}", str(base_path)] + (["--normalize"] if normalize else [])
    expected = go_pprof("-top", *go_args, str(new_path)).stdout
    assert profkit_top(capsys, *pk_args, str(new_path)) == expected


# doc_url (field 15) is newer than Go 1.19's pprof, which skips it; newer pprof checks it too.
@pytest.mark.parametrize("field", ["label_key", "label_str", "period_type", "drop_frames", "keep_frames"])
def test_out_of_range_string_index_is_rejected_like_pprof(  # type: ignore[no-untyped-def]
    go_pprof, tmp_path: Path, capsys, field: str
) -> None:
    from profkit.model._schema import ProfileMessage

    msg = ProfileMessage()
    msg.string_table.extend(["", "samples", "count", "m.f", "thread", "t1"])
    msg.sample_type.add(type=1, unit=2)
    msg.period_type.type, msg.period_type.unit = 1, 2
    msg.function.add(id=1, name=3)
    msg.location.add(id=1, line=[{"function_id": 1}])
    msg.sample.add(location_id=[1], value=[5], label=[{"key": 4, "str": 5}])
    assert main(["top", str(_write(tmp_path / "ok.pb", msg))]) == 0
    assert go_pprof("-top", str(tmp_path / "ok.pb")).returncode == 0
    bad = 99
    if field == "label_key":
        msg.sample[0].label[0].key = bad
    elif field == "label_str":
        msg.sample[0].label[0].str = bad
    elif field == "period_type":
        msg.period_type.type = bad
    else:
        setattr(msg, field, bad)
    path = _write(tmp_path / "bad.pb", msg)
    capsys.readouterr()
    assert go_pprof("-top", str(path), check=False).returncode != 0
    assert main(["top", str(path)]) == 1
    assert "string index 99 out of range" in capsys.readouterr().err


def _write(path: Path, msg) -> Path:  # type: ignore[no-untyped-def]
    path.write_bytes(msg.SerializeToString())
    return path
