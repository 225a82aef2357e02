"""Go's benchmark text format, produced by the real `go test -bench` (polyglot repos).

The gated metric here is B/op, which Go measures exactly: timings of a 2-core machine shared with
other jobs swing by 50 % between runs, which is what the pytest-benchmark tests deal with.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from profkit.cli import main

pytestmark = [pytest.mark.slow, pytest.mark.go]

BENCH_GO = """package demo

import (
\t"os"
\t"testing"
)

var sink int

func work(n int) int {
\ttotal := 0
\tfor i := 0; i < n; i++ {
\t\ttotal = (total*31 + i) & 0xffffffff
\t}
\treturn total
}

func BenchmarkWork(b *testing.B) {
\tn := 20000
\tif os.Getenv("PROFKIT_SLOWDOWN") == "1.5" {
\t\tn = 30000
\t}
\tfor i := 0; i < b.N; i++ {
\t\tsink = work(n)
\t}
}

var keep []byte

func BenchmarkAlloc(b *testing.B) {
\tsize := 64
\tif os.Getenv("PROFKIT_SLOWDOWN") == "1.5" {
\t\tsize = 96
\t}
\tb.ReportAllocs()
\tfor i := 0; i < b.N; i++ {
\t\tkeep = make([]byte, size)
\t}
}
"""


def go_bench(go_bin: str, pkg: Path, out: Path, slowdown: str) -> None:
    env = dict(os.environ, PROFKIT_SLOWDOWN=slowdown, GOFLAGS="-mod=mod", GO111MODULE="on")
    proc = subprocess.run([go_bin, "test", "-run", "^$", "-bench", ".", "-count", "8",
                           "-benchtime", "300x"], cwd=pkg, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    out.write_text(proc.stdout)


def test_go_benchmark_output_compares(go_bin: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    pkg = tmp_path / "demo"
    pkg.mkdir()
    (pkg / "go.mod").write_text("module example.com/demo\n\ngo 1.19\n")
    (pkg / "demo_test.go").write_text(BENCH_GO)
    old, new = tmp_path / "old.txt", tmp_path / "new.txt"
    go_bench(go_bin, pkg, old, "1.0")
    go_bench(go_bin, pkg, new, "1.5")
    assert main(["bench", "compare", str(old), str(new), "--format", "json", "--threshold", "10%",
                 "--fail-on", "Alloc"]) == 1
    doc = json.loads(capsys.readouterr().out)
    rows = {(r["name"], r["unit"]): r for r in doc["benchmarks"]}
    alloc = rows[("BenchmarkAlloc", "B/op")]
    assert alloc["verdict"] == "slower" and alloc["regression"] and alloc["base"]["n"] == 8
    assert alloc["base"]["median"] == 64 and alloc["new"]["median"] == 96
    assert rows[("BenchmarkAlloc", "allocs/op")]["verdict"] == "~"  # 1 alloc/op both sides: P = 1
    assert rows[("BenchmarkAlloc", "allocs/op")]["p"] == 1.0
    work = rows[("BenchmarkWork", "s")]  # timings parsed as seconds per op
    assert work["base"]["n"] == 8 and 1e-6 < work["base"]["median"] < 1e-2
    assert not work["gates"]
