"""``profkit bench ab`` stopped mid-run: no process of the run survives, no half-written file stays.

A real ``bench ab`` (``python -m profkit``) runs a tiny pytest-benchmark suite: the base tree's
benchmark is quick, the new tree's writes half a JSON document to its ``--benchmark-json`` path,
starts a child process (what valgrind is under an instruction-mode run), writes the pids
(pytest's, its child's, its parent's = bench ab's) and then hangs. The schedule runs base 1 first,
so when the pids appear base 1 has finished and new 1 is mid-run. Every wait is a bounded poll of
``/proc`` (a zombie counts as gone: it runs nothing).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import pytest

QUICK = "def test_quick(benchmark):\n    benchmark(sum, range(10))\n"
HANG = '''import json, os, subprocess, sys, time

def test_quick(benchmark):
    part = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--benchmark-json="))
    with open(part, "w") as f:
        f.write('{"benchmarks": [')  # killed while writing its results
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    pids = os.environ["PIDS_FILE"]
    with open(pids + ".tmp", "w") as f:
        json.dump({"pytest": os.getpid(), "child": child.pid, "ab": os.getppid()}, f)
    os.replace(pids + ".tmp", pids)
    time.sleep(600)
'''
PYTEST = ["pytest", "-q", "-p", "no:cacheprovider", "test_quick.py", "--benchmark-max-time=0.001",
          "--benchmark-min-rounds=3"]
#: a process that is its own subreaper: bench ab, orphaned when its parent (the middle process)
#: is killed, becomes its child (so do orphans of the run), so exit codes can be read: it prints
#: {pid: exit code} of every process it reaped once none is left
REAPER = '''import ctypes, json, os, subprocess, sys
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
subprocess.Popen([sys.executable, "-c",
                  "import subprocess, sys, time; subprocess.Popen(sys.argv[1:]); time.sleep(600)",
                  *sys.argv[1:]])
codes = {}
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    codes[pid] = os.waitstatus_to_exitcode(status)
print(json.dumps(codes))
'''


def _stat(pid: int) -> List[str]:
    """Fields of /proc/PID/stat after the command name ([0] state, [1] ppid, [2] pgrp); [] if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return []


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return bool(fields) and fields[0] not in ("Z", "X")


def group(pgid: int) -> List[int]:
    """Living processes whose process group is ``pgid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
                found.append(int(entry.name))
    return found


def wait_until(condition: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:.0f}s: {what}"
        time.sleep(0.05)


@pytest.fixture
def trees(tmp_path: Path) -> Dict[str, Path]:
    out = {"base": tmp_path / "a", "new": tmp_path / "b"}
    out["base"].mkdir()
    out["new"].mkdir()
    (out["base"] / "test_quick.py").write_text(QUICK)
    (out["new"] / "test_quick.py").write_text(HANG)
    return out


def _ab(trees: Dict[str, Path], out: Path) -> List[str]:
    return [sys.executable, "-m", "profkit", "bench", "ab", "--base", str(trees["base"]), "--new",
            str(trees["new"]), "--runs", "2", "--dir", str(out), "--", *PYTEST]


def _pids(path: Path) -> Dict[str, int]:
    wait_until(path.exists, "the new run's benchmark started")
    pids: Dict[str, int] = json.loads(path.read_text())
    assert group(pids["pytest"]) and alive(pids["child"])  # the run is its own process group
    return pids


def _nothing_left(pids: Dict[str, int], out: Path) -> None:
    wait_until(lambda: not alive(pids["pytest"]) and not alive(pids["child"]) and not group(pids["pytest"]),
               f"the run's processes ended (left: {group(pids['pytest'])})", timeout=30)
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["base-01.json"]  # no .part, no new-01
    assert json.loads((out / "base-01.json").read_text())["benchmarks"][0]["name"] == "test_quick"


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_ends_the_running_run(trees: Dict[str, Path], tmp_path: Path, sig: int, code: int) -> None:
    out, pids_file = tmp_path / "runs", tmp_path / "pids.json"
    # its own session, as a shell job: SIGINT goes to its group, as the terminal sends Ctrl-C
    ab = subprocess.Popen(_ab(trees, out), env=dict(os.environ, PIDS_FILE=str(pids_file)),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True)
    try:
        pids = _pids(pids_file)
        assert pids["ab"] == ab.pid
        os.killpg(ab.pid, sig)
        _, err = ab.communicate(timeout=60)
    finally:
        if ab.poll() is None:
            ab.kill()
    assert ab.returncode == code, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("profkit: bench ab stopped: ") and "during new run 1 of 2" in last, err
    assert "1 finished run(s) kept" in last and "Traceback" not in err
    _nothing_left(pids, out)


def test_parent_death_ends_the_running_run(trees: Dict[str, Path], tmp_path: Path) -> None:
    out, pids_file = tmp_path / "runs", tmp_path / "pids.json"
    reaper = subprocess.Popen([sys.executable, "-c", REAPER, *_ab(trees, out)],
                              env=dict(os.environ, PIDS_FILE=str(pids_file)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        pids = _pids(pids_file)
        middle = int(_stat(pids["ab"])[1])
        assert middle != reaper.pid
        os.kill(middle, signal.SIGKILL)  # e.g. the CI job's shell, killed when the job is cancelled
        codes, err = reaper.communicate(timeout=60)
    finally:
        if reaper.poll() is None:
            reaper.kill()
    assert json.loads(codes)[str(pids["ab"])] == 129, err
    assert "bench ab stopped: its parent process died during new run 1 of 2" in err
    _nothing_left(pids, out)


def test_sigkill_of_bench_ab_still_ends_its_pytest(trees: Dict[str, Path], tmp_path: Path) -> None:
    """SIGKILL cannot be caught: the child dies of its parent-death signal (Linux)."""
    out, pids_file = tmp_path / "runs", tmp_path / "pids.json"
    ab = subprocess.Popen(_ab(trees, out), env=dict(os.environ, PIDS_FILE=str(pids_file)),
                          stderr=subprocess.DEVNULL)
    try:
        pids = _pids(pids_file)
    finally:
        ab.kill()
        ab.wait(timeout=60)
    wait_until(lambda: not alive(pids["pytest"]), "pytest died with bench ab", timeout=30)
    os.kill(pids["child"], signal.SIGKILL)  # a grandchild without its own death signal: ours to end
    # the half-written result of the killed run is removed by the next run into the directory
    assert (out / ".new-01.json.part").exists()
    (trees["new"] / "test_quick.py").write_text(QUICK)
    rerun = subprocess.run(_ab(trees, out)[:-len(PYTEST) - 1] + ["--runs", "1", "--", *PYTEST],
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode in (0, 1), rerun.stderr
    assert not list(out.glob(".*.part"))


def test_a_finished_run_leaves_no_process_behind(trees: Dict[str, Path], tmp_path: Path) -> None:
    """A benchmark that starts a process and returns: the process ends with its run."""
    pid_file = tmp_path / "daemon.pid"
    (trees["new"] / "test_quick.py").write_text(
        "import os, subprocess, sys\n\n"
        "def test_quick(benchmark):\n"
        "    p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"    open({str(pid_file)!r}, 'w').write(str(p.pid))\n"
        "    benchmark(sum, range(10))\n")
    out = tmp_path / "runs"
    cmd = _ab(trees, out)
    cmd[cmd.index("--runs") + 1] = "1"
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr  # one run per side: the verdict is not the point
    daemon = int(pid_file.read_text())
    wait_until(lambda: not alive(daemon), "the benchmark's process ended with its run", timeout=30)


UNDER_VALGRIND = '''import json, os, time

def test_quick(benchmark):
    if os.environ.get("PROFKIT_INSTRUCTIONS_DIR"):  # the counted run: this process is valgrind
        pids = os.environ["PIDS_FILE"]
        with open(pids + ".tmp", "w") as f:
            json.dump({"valgrind": os.getpid(), "pytest": os.getppid()}, f)
        os.replace(pids + ".tmp", pids)
        time.sleep(600)
    benchmark(sum, range(10))
'''


@pytest.mark.valgrind
@pytest.mark.slow
@pytest.mark.timeout(900)  # valgrind on a busy runner
def test_sigterm_ends_valgrind_under_an_instruction_run(trees: Dict[str, Path], tmp_path: Path) -> None:
    from tool_helpers import require_tool

    require_tool("valgrind", "apt-get install valgrind")
    (trees["base"] / "test_quick.py").write_text(UNDER_VALGRIND)
    out, pids_file = tmp_path / "runs", tmp_path / "pids.json"
    cmd = _ab(trees, out)
    cmd[cmd.index("--runs"):cmd.index("--runs") + 2] = ["--runs", "1", "--instructions"]
    ab = subprocess.Popen(cmd[:cmd.index("--") + 1] + ["pytest", "-q", "-p", "no:cacheprovider", "test_quick.py"],
                          env=dict(os.environ, PIDS_FILE=str(pids_file)), stderr=subprocess.PIPE, text=True)
    try:
        wait_until(pids_file.exists, "the benchmark runs under valgrind", timeout=600)
        pids = json.loads(pids_file.read_text())
        assert int(_stat(pids["pytest"])[1]) == ab.pid and alive(pids["valgrind"])
        ab.terminate()
        _, err = ab.communicate(timeout=120)
    finally:
        if ab.poll() is None:
            ab.kill()
    assert ab.returncode == 143, err
    assert "bench ab stopped: SIGTERM during base run 1 of 1" in err.strip().splitlines()[-1]
    wait_until(lambda: not alive(pids["valgrind"]) and not group(pids["pytest"]),
               "valgrind and its pytest ended", timeout=60)
    assert not [p for p in out.iterdir() if p.is_file()]


@pytest.mark.valgrind
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_valgrind_dies_with_its_pytest(tmp_path: Path) -> None:
    """``pytest --profkit-instructions`` killed (no chance to clean up): valgrind does not stay."""
    from tool_helpers import require_tool

    require_tool("valgrind", "apt-get install valgrind")
    (tmp_path / "test_quick.py").write_text(UNDER_VALGRIND)
    pids_file = tmp_path / "pids.json"
    outer = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                              "--profkit-instructions", "test_quick.py"], cwd=tmp_path,
                             env=dict(os.environ, PIDS_FILE=str(pids_file)), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_until(pids_file.exists, "the benchmark runs under valgrind", timeout=600)
        pids = json.loads(pids_file.read_text())
        assert pids["pytest"] == outer.pid
    finally:
        outer.kill()
        outer.wait(timeout=60)
    wait_until(lambda: not alive(pids["valgrind"]), "valgrind died with its pytest", timeout=60)
