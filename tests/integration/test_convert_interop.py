"""Real inputs (py-spy, cProfile) through ``profkit convert``, checked by ``go tool pprof``."""

from __future__ import annotations

import cProfile
import os
import re
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable, Dict, List

import pytest
from profile_stacks import stacks, types
from tool_helpers import IN_CI, require_tool

from profkit.cli import main
from profkit.load import load_any
from profkit.model import Profile, load

DATA = Path(__file__).resolve().parent.parent / "testdata" / "importers"
RATE = 200
WORKLOAD = textwrap.dedent(
    """
    import threading
    import time

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def main(seconds):
        square = lambda x: fib(x)
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            list(square(i) for i in range(16))

    spinner = threading.Thread(target=main, args=(0.5,), name="spinner")
    spinner.start()
    main(1.0)
    spinner.join()
    """
)


def _pyspy() -> str:
    local = Path(sys.executable).parent / "py-spy"
    if local.exists():
        return str(local)
    return require_tool("py-spy", "pip install 'profkit[capture]'")


@pytest.fixture(scope="module")
def pyspy_outputs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    """Run the workload under the real py-spy, as speedscope and as raw with --threads."""
    d = tmp_path_factory.mktemp("pyspy")
    script = d / "spywork.py"
    script.write_text(WORKLOAD)
    out = {"speedscope": d / "out.speedscope.json", "raw": d / "out.folded"}
    for fmt, path in out.items():
        threads = ["--threads"] if fmt == "raw" else []
        cmd = [_pyspy(), "record", "--rate", str(RATE), "-f", fmt, "-o", str(path), *threads,
               "--", sys.executable, str(script)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=d)
        if proc.returncode != 0 or not path.exists():
            reason = f"py-spy cannot profile here: {proc.stderr.strip()[-300:]}"
            if IN_CI:
                pytest.fail(reason)
            pytest.skip(reason)
    return out


def _raw_totals(go_pprof: Callable[..., subprocess.CompletedProcess], path: Path) -> List[int]:
    """Return per-sample-type totals as ``go tool pprof -raw`` prints the samples."""
    text = go_pprof("-raw", str(path)).stdout
    body = text.split("Samples:", 1)[1].split("Locations", 1)[0]
    totals: List[int] = []
    for line in body.splitlines():
        m = re.match(r"^\s+(-?\d+(?:\s+-?\d+)*): ", line)
        if m:
            values = [int(v) for v in m.group(1).split()]
            totals = [a + b for a, b in zip(totals, values)] if totals else values
    return totals


def _convert(*args: str) -> int:
    return main(["convert", *args])


def _pyspy_names(p: Profile) -> set:
    return {f.name for f in p.functions}


def _assert_two_threads(p: Profile) -> None:
    """Both threads are seen, with the names py-spy gave them. py-spy does not always
    resolve a thread's name (``thread (ID)`` without one, seen under load), so a
    missing name is accepted; the name parsing itself is tested on fixed files."""
    assert len({s.labels["thread_id"][0] for s in p.samples}) == 2
    assert {s.labels.get("thread_name", [""])[0] for s in p.samples} <= {"MainThread", "spinner", ""}


@pytest.mark.slow
def test_pyspy_speedscope_import(pyspy_outputs: Dict[str, Path]) -> None:
    p = load_any(pyspy_outputs["speedscope"])
    assert types(p) == ["samples/count", "cpu/nanoseconds"]
    assert p.total(0) > 50  # ~1 s at 200 Hz, generous for a busy machine
    assert p.total(1) == p.total(0) * 1_000_000_000 // RATE
    assert 0.5e9 < p.duration_nanos < 10e9
    assert all("thread_id" in s.labels for s in p.samples)
    _assert_two_threads(p)
    assert {"spywork.<module>", "spywork.main", "spywork.main.<locals>.<lambda>",
            "spywork.main.<locals>.<genexpr>", "spywork.fib"} <= _pyspy_names(p)


@pytest.mark.slow
def test_pyspy_raw_import_with_rate(pyspy_outputs: Dict[str, Path]) -> None:
    p = load_any(pyspy_outputs["raw"], rate_hz=RATE)
    assert types(p) == ["samples/count", "cpu/nanoseconds"]
    assert p.total(0) > 50 and p.total(1) == p.total(0) * 5_000_000
    assert "spywork.main.<locals>.<genexpr>" in _pyspy_names(p)
    assert all(s.labels.get("thread_id") for s in p.samples)  # py-spy's "thread (ID)" root frame
    _assert_two_threads(p)
    plain = load_any(pyspy_outputs["raw"])
    assert types(plain) == ["samples/count"] and plain.total(0) == p.total(0)


@pytest.mark.slow
@pytest.mark.go
@pytest.mark.parametrize("kind", ["speedscope", "raw"])
def test_pyspy_converted_to_pprof_reads_in_go_pprof(
    kind: str, pyspy_outputs: Dict[str, Path], tmp_path: Path, go_pprof: Callable[..., object]
) -> None:
    out = tmp_path / "spy.pb.gz"
    rate = ["--rate", str(RATE)] if kind == "raw" else []
    assert _convert(str(pyspy_outputs[kind]), "-o", str(out), *rate) == 0
    ours = load(out)
    assert _raw_totals(go_pprof, out) == [ours.total(i) for i in range(len(ours.sample_types))]
    top = go_pprof("-top", "-nodecount=200", str(out)).stdout  # type: ignore[attr-defined]
    assert "Main binary filename not available" not in top
    for name in ("spywork.<module>", "spywork.main.<locals>.<lambda>",
                 "spywork.main.<locals>.<genexpr>"):
        assert re.search(rf"\s{re.escape(name)}$", top, re.M), (name, top)


@pytest.fixture(scope="module")
def pstats_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("cprof")
    script = d / "cpwork2.py"
    script.write_text(WORKLOAD.replace("main(1.0)", "main(0.2)").replace("(0.5,)", "(0.1,)"))
    prof = cProfile.Profile()
    prof.enable()
    runpy.run_path(str(script))
    prof.disable()
    out = d / "out.pstats"
    prof.dump_stats(str(out))
    return out


@pytest.mark.go
def test_pstats_converted_to_pprof_reads_in_go_pprof(
    pstats_file: Path, tmp_path: Path, go_pprof: Callable[..., object]
) -> None:
    import pstats

    out = tmp_path / "cp.pb.gz"
    assert _convert(str(pstats_file), "-o", str(out)) == 0
    st = pstats.Stats(str(pstats_file)).stats  # type: ignore[attr-defined]
    calls = sum(v[1] for v in st.values())
    wall = sum(round(v[2] * 1e9) for v in st.values())
    assert _raw_totals(go_pprof, out) == [calls, wall]
    top = go_pprof("-top", "-nodecount=200", str(out)).stdout  # type: ignore[attr-defined]
    for name in ("cpwork2.<module>", "cpwork2.<lambda>", "cpwork2.<genexpr>", "cpwork2.fib"):
        assert re.search(rf"\s{re.escape(name)}$", top, re.M), (name, top)


@pytest.mark.go
@pytest.mark.parametrize("fixture", ["edge.folded", "evented.speedscope.json",
                                     "threads.speedscope.json"])
def test_fixtures_converted_to_pprof_read_in_go_pprof(
    fixture: str, tmp_path: Path, go_pprof: Callable[..., object]
) -> None:
    out = tmp_path / "f.pprof"
    assert _convert(str(DATA / fixture), "-o", str(out)) == 0
    ours = load_any(DATA / fixture)
    assert _raw_totals(go_pprof, out) == [ours.total(i) for i in range(len(ours.sample_types))]
    raw = go_pprof("-raw", str(out)).stdout  # type: ignore[attr-defined]
    for name in {f.name for f in ours.functions}:
        assert name in raw, name  # e.g. main.<module>, ?.<lambda>, ünï.größe intact


@pytest.mark.go
@pytest.mark.parametrize("ext", [".folded", ".json"])
def test_pprof_to_text_and_back_in_go_pprof(
    ext: str, corpus: Path, tmp_path: Path, go_pprof: Callable[..., object]
) -> None:
    src = corpus / "sample.cpu"
    text_out = tmp_path / f"s{ext}"
    back = tmp_path / "back.pb.gz"
    assert _convert(str(src), "-o", str(text_out), "--sample-index", "cpu") == 0
    assert _convert(str(text_out), "-o", str(back)) == 0
    original = load(src)
    again = load(back)
    index = len(again.sample_types) - 1
    assert _raw_totals(go_pprof, back)[index] == original.total(1)
    assert stacks(again, index) == stacks(original, 1)


def test_convert_output_format_overrides(corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "weird.out"
    assert _convert(str(corpus / "sample.cpu"), "-o", str(out), "--to", "collapsed",
                    "--sample-index", "0") == 0
    assert sum(int(line.rsplit(" ", 1)[1]) for line in out.read_text().splitlines()) == 176
    assert _convert(str(corpus / "sample.cpu"), "-o", str(tmp_path / "x.json")) == 0
    assert types(load_any(tmp_path / "x.json")) == ["cpu/nanoseconds"]  # default index


@pytest.mark.parametrize(
    "args, message",
    [
        (["no_count.folded"], "no sample count"),
        (["not_speedscope.json"], "not a speedscope file"),
        (["truncated.json"], "not valid JSON"),
        (["unknown.txt"], "cannot tell the format of"),
        (["missing.folded"], "no such file"),
        (["edge.folded", "--sample-index", "bogus"], "unknown sample index 'bogus'"),
        (["edge.folded", "--rate", "0"], "--rate must be a positive"),
    ],
)
def test_convert_bad_input_exits_1_with_one_line_and_no_file(
    args: List[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.folded"
    code = _convert(str(DATA / args[0]), "-o", str(out), *args[1:])
    err = capsys.readouterr().err
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("profkit: ") and message in err, err
    assert os.listdir(tmp_path) == []  # no output, no temporary file left


def test_convert_unknown_output_extension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = _convert(str(DATA / "edge.folded"), "-o", str(tmp_path / "out.svg"))
    assert code == 1 and "use .pb.gz, .folded or .json" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_convert_runs_as_a_subprocess(tmp_path: Path) -> None:
    out = tmp_path / "e.pb.gz"
    proc = subprocess.run([sys.executable, "-m", "profkit", "convert", str(DATA / "edge.folded"),
                           "-o", str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert load(out).total(0) == 23
