"""Loading pytest-benchmark (corpus), pyperf (written by pyperf itself) and Go text; bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from profkit.bench.load import load_run, load_runs
from profkit.bench.samples import pool
from profkit.errors import InputError

GO_OUTPUT = """goos: linux
goarch: amd64
pkg: example.com/demo
cpu: AMD EPYC
BenchmarkParse-2        1000      1500 ns/op     128 B/op       3 allocs/op
BenchmarkParse-2        1000      1520 ns/op     128 B/op       3 allocs/op
BenchmarkCopy/size=1k-2   50000    25.5 ns/op    40000.00 MB/s
PASS
ok      example.com/demo        1.234s
"""


def test_corpus_runs_are_summary_only(corpus: Path) -> None:
    runs = load_runs([corpus / "pytest-benchmark-history"])
    assert len(runs) == 30
    res = runs[0].results[0]
    assert res.name == "tests/test_normal.py::test_xfast_parametrized[0]"
    assert not res.has_raw and res.summary is not None and res.summary.n == 9987
    assert runs[0].commit == "5b78858eb718649a31fb93d8dc96ca2cee41a4cd"
    pooled = pool(runs[:3])
    bench = pooled[(res.name, "s")]
    assert not bench.raw and bench.runs == 3


def test_pyperf_file_written_by_pyperf(tmp_path: Path) -> None:
    import pyperf

    runs = [pyperf.Run([1e-3 + i * 1e-6, 1.1e-3], warmups=[(1, 5e-3)],
                       metadata={"name": "parse", "loops": 10}, collect_metadata=False)
            for i in range(3)]
    suite = pyperf.BenchmarkSuite([pyperf.Benchmark(runs)])
    plain, zipped = tmp_path / "a.json", tmp_path / "b.json.gz"
    suite.dump(str(plain))
    suite.dump(str(zipped))
    for path in (plain, zipped):
        run = load_run(path)
        assert run.format == "pyperf"
        (res,) = run.results
        assert res.name == "parse" and res.unit == "s"
        assert len(res.values) == 6 and 5e-3 not in res.values  # warm-ups left out


def test_go_text_format(tmp_path: Path) -> None:
    path = tmp_path / "old.txt"
    path.write_text(GO_OUTPUT)
    run = load_run(path)
    by_key = {r.key: r for r in run.results}
    assert by_key[("BenchmarkParse", "s")].values == pytest.approx([1.5e-6, 1.52e-6])
    assert by_key[("BenchmarkParse", "B/op")].values == [128, 128]
    assert by_key[("BenchmarkCopy/size=1k", "MB/s")].higher_is_better
    assert not by_key[("BenchmarkParse", "allocs/op")].higher_is_better
    assert run.machine["goarch"] == "amd64"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"benchmarks": [', "not valid JSON"),
        (b'{"traceEvents": []}', "not pytest-benchmark or pyperf"),
        (b'{"benchmarks": [], "machine_info": {}}', "contains no benchmarks"),
        (b"\x00\x01\x02\xff\xfe", "binary data"),
        (b"hello world\n", "not benchmark results"),
        (b'{"benchmarks": [{"name": "x", "stats": {"rounds": 3}}], "machine_info": {}}',
         "no numeric stats.median"),
        (gzip.compress(b"garbage") [:10], "corrupt gzip"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        load_run(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_run(tmp_path / "nope.json")
    with pytest.raises(InputError, match="holds no"):
        load_runs([tmp_path])


def test_raw_data_and_zero_samples(tmp_path: Path) -> None:
    doc = {"machine_info": {}, "benchmarks": [
        {"fullname": "t.py::a", "stats": {"data": [1.0, 2.0, 3.0], "rounds": 3}},
        {"fullname": "t.py::b", "stats": {"data": [], "rounds": 0}},
    ]}
    path = tmp_path / "r.json"
    path.write_text(json.dumps(doc))
    a, b = load_run(path).results
    assert a.values == [1.0, 2.0, 3.0] and a.summary is not None and a.summary.median == 2.0
    assert b.values == [] and b.summary is None
