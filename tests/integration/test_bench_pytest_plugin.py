"""The pytest11 plugin: profiles per benchmark with --profkit-profile, nothing without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profkit.integrations.pytest_plugin import profile_filename
from profkit.model import check_valid, load

pytest_plugins = ["pytester"]

SUITE = """
def work(n=20000):
    total = 0
    for i in range(n):
        total += i * i
    return total

def test_bench(benchmark):
    benchmark(work)

def test_pedantic(benchmark):
    benchmark.pedantic(work, args=(5000,), rounds=3)

def test_plain():
    assert work(50000) > 0
"""


def test_without_the_option_nothing_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x="""
def test_registered(request):
    assert request.config.pluginmanager.get_plugin("profkit-profiling") is None
    assert request.config.getoption("profkit_profile") is None
""")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_profile_per_benchmark_recorded_in_the_json(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    out = pytester.path / "out" / "run.json"
    out.parent.mkdir()
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--benchmark-json={out}", "--benchmark-min-rounds=3",
        "--benchmark-max-time=0.01", "--profkit-profile", "profiles", "--profkit-profile-seconds=0.2",
        "--profkit-profile-tests")
    result.assert_outcomes(passed=3)
    doc = json.loads(out.read_text())
    extra = {b["name"]: b["extra_info"] for b in doc["benchmarks"]}
    for name in ("test_bench", "test_pedantic"):
        path = out.parent / extra[name]["profkit_profile"]
        assert path.is_file() and extra[name]["profkit_profile_calls"] >= 1
        profile = load(path)
        check_valid(profile)
        names = {ln.function.name for s in profile.samples for loc in s.locations for ln in loc.lines}
        assert any(n.endswith("work") for n in names), names
        assert any("calls=" in c for c in profile.comments)
    plain = Path(pytester.path / "profiles" / profile_filename("test_suite.py::test_plain"))
    assert plain.name.startswith("test_suite.py__test_plain-")
    assert plain.is_file()
    check_valid(load(plain))


def test_busy_profiler_is_reported_not_fatal(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
from profkit.collect.cpu import CpuProfiler
_running = CpuProfiler().start()  # the project profiles its whole session itself
""")
    pytester.makepyfile(test_suite=SUITE)
    out = pytester.path / "run.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--benchmark-json={out}", "--benchmark-min-rounds=3",
        "--benchmark-max-time=0.01", "--profkit-profile", "profiles", "--profkit-profile-tests")
    result.assert_outcomes(passed=3)
    extra = {b["name"]: b["extra_info"] for b in json.loads(out.read_text())["benchmarks"]}
    assert "already in use" in extra["test_bench"]["profkit_profile_error"]
    assert "profkit_profile" not in extra["test_bench"]


COLLIDING = """
import pytest

LONG = "x" * 300

@pytest.mark.parametrize("case", ["a b", "a_b", "a/b", LONG], ids=["a b", "a_b", "a/b", LONG])
def test_collide(benchmark, case):
    benchmark(lambda: sum(range(200)))
"""


def test_ids_that_sanitise_alike_or_are_long_get_their_own_profile(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_p=COLLIDING)
    out = pytester.path / "run.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--benchmark-json={out}", "--benchmark-min-rounds=3",
        "--benchmark-max-time=0.01", "--profkit-profile", "profs", "--profkit-profile-seconds=0.05")
    result.assert_outcomes(passed=4)
    doc = json.loads(out.read_text())
    paths = {b["fullname"]: b["extra_info"]["profkit_profile"] for b in doc["benchmarks"]}
    assert len(paths) == 4 and len(set(paths.values())) == 4, paths
    for fullname, rel in paths.items():
        path = pytester.path / rel
        assert path.is_file() and len(path.name) < 120
        assert any(fullname in c for c in load(path).comments)  # each file holds its own test


def test_unwritable_profile_is_a_warning_not_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_suite=SUITE)
    # A directory where the profile file should go: the write fails (even as root).
    (pytester.path / "profiles" / profile_filename("test_suite.py::test_bench")).mkdir(parents=True)
    out = pytester.path / "run.json"
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--benchmark-json={out}", "--benchmark-min-rounds=3",
        "--benchmark-max-time=0.01", "--profkit-profile", "profiles", "--profkit-profile-seconds=0.05")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["*PytestWarning: profkit: profile not written to*"])
    extra = {b["name"]: b["extra_info"] for b in json.loads(out.read_text())["benchmarks"]}
    assert "profile not written" in extra["test_bench"]["profkit_profile_error"]
    assert "profkit_profile" not in extra["test_bench"]
    assert "profkit_profile" in extra["test_pedantic"]
