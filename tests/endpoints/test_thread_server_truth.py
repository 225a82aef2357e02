"""CPU truth on thread-per-request servers: profkit's /debug/profile against known CPU and py-spy.

A real server (werkzeug's threaded server running a Flask app, and ``wsgiref`` with
``socketserver.ThreadingMixIn``) runs in its own process, one new thread per request;
each request spends a known CPU time in ``hot_function`` and ``warm_function``,
measured by the request thread's own CPU clock (``apps/thread_truth_app.py``).
Client threads in this process load it over loopback, one connection per request.
During the same 5 s, profkit's CPU profile is fetched from ``/debug/profile/profile``
and py-spy samples the same process from outside.

What must hold (issue 12): the hot function's share of the profile's CPU is within
5 percentage points of its true share (its CPU over the process's CPU, less the
sampler's own), and py-spy agrees (within 5 pp on a quiet machine, 8 pp under load:
see the test); the entry point
(``ThreadingMixIn.process_request_thread``) has under 5 % flat. Before the sampler
charged only threads seen on a CPU, the hot function was nearly absent (most CPU sat
on the entry point and on log writes). py-spy runs with ``--gil``: on a loaded
2-core machine its default idle heuristic counts threads waiting for the GIL or for a
core as active, diluting every share; the thread holding the GIL is the one running
Python, and this workload keeps the CPU spent without the GIL small.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.request
import warnings
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
from endpoint_servers import ROOT

from profkit.model import Profile, parse

APP = Path(__file__).parent / "apps" / "thread_truth_app.py"
SECONDS = 12
CLIENTS = 4
ENTRY = "socketserver.ThreadingMixIn.process_request_thread"


def _pyspy() -> str:
    found = shutil.which("py-spy") or shutil.which("py-spy", path=os.path.dirname(sys.executable))
    if found is None:
        pytest.fail("py-spy is missing: it comes with profkit[capture] (make setup)")
    return found


def _get(url: str) -> bytes:
    req = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return bytes(resp.read())


class _Load:
    """CLIENTS threads requesting /work back to back until stopped (errors counted)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.stop = threading.Event()
        self.done = Counter[str]()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(CLIENTS)]

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                _get(self.base + "/work")
                self.done["ok"] += 1
            except OSError:  # a refused or reset connection on a loaded machine
                self.done["error"] += 1

    def __enter__(self) -> _Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


@pytest.fixture(params=["werkzeug", "socketserver"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tuple[str, int]]:
    _pyspy()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, str(APP), request.param, str(tmp_path / "requests.log")],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.kill()
        proc.wait()


def _shares(p: Profile, names: Tuple[str, ...]) -> Tuple[Dict[str, float], float]:
    """Cumulative CPU share of each function in ``names``, and the entry point's flat share."""
    cum: Counter[str] = Counter()
    entry_flat = 0
    for s in p.samples:
        funcs = {loc.lines[-1].function.name for loc in s.locations}
        for n in names:
            if any(f.endswith("." + n) for f in funcs):
                cum[n] += s.values[1]
        if s.locations and s.locations[0].lines[-1].function.name == ENTRY:
            entry_flat += s.values[1]
    total = p.total(1)
    return {n: cum[n] / total for n in names}, entry_flat / total


def _pyspy_shares(raw: Path, names: Tuple[str, ...]) -> Dict[str, float]:
    """Share of py-spy's samples (collapsed stacks) with each function on the stack."""
    hits: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        total += int(count)
        funcs = {frame.split(" (")[0] for frame in stack.split(";")}
        for n in names:
            if n in funcs:
                hits[n] += int(count)
    assert total > 0, "py-spy recorded nothing"
    return {n: hits[n] / total for n in names}


@pytest.mark.slow
def test_hot_function_share_matches_truth_and_pyspy(server: Tuple[str, int], tmp_path: Path) -> None:
    base, pid = server
    names = ("hot_function", "warm_function")
    raw = tmp_path / "pyspy.txt"
    with _Load(base) as load:
        for _ in range(20):  # warm up: imports, first requests
            _get(base + "/work")
        before = json.loads(_get(base + "/counters"))
        spy = subprocess.Popen(
            [_pyspy(), "record", "--pid", str(pid), "--duration", str(SECONDS), "--rate", "200",
             "--gil", "--format", "raw", "--output", str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        profile = parse(_get(f"{base}/debug/profile/profile?seconds={SECONDS}"))
        after = json.loads(_get(base + "/counters"))
        _, spy_err = spy.communicate(timeout=120)
    assert spy.returncode == 0, spy_err
    assert load.done["ok"] > 100 and load.done["error"] < 0.05 * load.done["ok"], load.done

    comment = " ".join(profile.comments)
    sampler_ns = float(re.search(r"sampler CPU ([0-9.]+) ms", comment).group(1)) * 1e6  # type: ignore[union-attr]
    program_ns = after["process_ns"] - before["process_ns"] - sampler_ns
    keys = {"hot_function": "hot_ns", "warm_function": "warm_ns"}
    truth = {n: (after[keys[n]] - before[keys[n]]) / program_ns for n in names}
    got, entry_flat = _shares(profile, names)
    spy_got = _pyspy_shares(raw, names)
    detail = f"truth {truth} profkit {got} py-spy {spy_got} entry flat {entry_flat}; {comment}"
    assert abs(got["hot_function"] - truth["hot_function"]) <= 0.05, detail
    # the phase just before the response is written reads 0-4 pp under its truth (5.2 once
    # in CI): docs/COLLECTORS.md, "Known lean"; the 5 pp bound is the hot function's
    assert abs(got["warm_function"] - truth["warm_function"]) <= 0.07, detail
    # py-spy is the outside reference. On a quiet machine the two agree within 5 pp; under
    # the suite's own load they lean apart, each within ~3.5 pp of the known truth but in
    # opposite directions (clean CI runs: truth 71.7, profkit 68.4, py-spy 74.0; truth 68.2,
    # profkit 65.6, py-spy 71.3): py-spy samples from outside and leans itself. The truth
    # bounds above are the contract; the disagreement is bounded at 8 pp and reported
    # beyond 5 pp (docs/COLLECTORS.md, "Checked against").
    gap = abs(got["hot_function"] - spy_got["hot_function"])
    assert gap <= 0.08, detail
    if gap > 0.05:
        warnings.warn(f"py-spy and profkit differ by {100 * gap:.1f} pp: {detail}", stacklevel=1)
    assert entry_flat < 0.05, detail
    # the profile says how much of its CPU was estimated, and marks those samples
    assert "estimated for" in comment, comment
    # (with signal captures nearly every short thread is observed: a run may estimate none;
    # how the estimate is spread is tests/collect/test_collect_short_threads.py's)
    found = re.search(r"([0-9.]+) ms \([0-9.]+ %\) estimated for (\d+) threads", comment)
    assert found is not None, comment
    est_ms, threads = float(found.group(1)), int(found.group(2))
    marked = {s.labels["cpu_estimate"][0] for s in profile.samples if "cpu_estimate" in s.labels}
    assert marked <= {"same_entry_point", "entry_point_frame"}, marked
    if est_ms > 0:  # estimated CPU is in samples that say so
        assert marked, comment
    if marked:
        assert threads > 0, comment
