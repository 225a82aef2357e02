"""``profkit view`` as a user runs it: a real process serving on loopback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

PROFKIT = [sys.executable, "-m", "profkit"]


@pytest.fixture
def viewer(profiles: Dict[str, Path]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [*PROFKIT, "view", str(profiles["new"]), "--base", str(profiles["base"]), "--no-browser"],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    yield proc
    proc.terminate()
    proc.wait(timeout=30)


def test_serves_the_diff_on_loopback(viewer: subprocess.Popen[str]) -> None:
    assert viewer.stderr is not None
    line = viewer.stderr.readline()  # printed once the server listens
    m = re.fullmatch(r"profkit view: serving (http://127\.0\.0\.1:\d+/) \(Ctrl-C to stop\)\n", line)
    assert m, line
    with urllib.request.urlopen(m.group(1) + "api/flame", timeout=60) as r:
        p = json.loads(r.read())
    assert p["diff"] is True and p["total"] == 70_000_000
    with urllib.request.urlopen(m.group(1), timeout=60) as r:
        assert b"<canvas" in r.read()


@pytest.mark.parametrize("args, words", [
    (["/nonexistent/cpu.pb.gz"], "no such file"),
    (["{labelled}", "--base", "/nonexistent/base.pb.gz"], "no such file"),
    (["{labelled}", "--port", "70000"], "--port"),
])
def test_bad_inputs_fail_before_serving(profiles: Dict[str, Path], args: list, words: str) -> None:
    argv = [a.format(labelled=profiles["labelled"]) for a in args]
    proc = subprocess.run([*PROFKIT, "view", *argv, "--no-browser"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and words in proc.stderr and "serving" not in proc.stderr


def test_a_debug_profile_url_is_captured_first(serve: Any) -> None:
    from flask import Flask

    from profkit.integrations import flask as pk_flask

    service = Flask("service")
    pk_flask.install(service)
    srv = serve(service)
    proc = subprocess.Popen([*PROFKIT, "view", srv.url("/"), "--seconds", "1", "--no-browser"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        first = proc.stderr.readline()
        assert first.startswith("capturing cpu from http://127.0.0.1:"), first
        line = proc.stderr.readline()
        m = re.search(r"serving (http://127\.0\.0\.1:\d+/)", line)
        assert m, line
        with urllib.request.urlopen(m.group(1) + "api/flame", timeout=60) as r:
            p = json.loads(r.read())
        assert p["type"] == "cpu" and p["sources"] == ["<profile>"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
