"""Review fixes: where a report command's two outputs go, and the viewer's peek errors.

* ``-o -`` (the filtered profile on stdout) with the report also on stdout used to
  concatenate gzip bytes and report text; ``-o F --write F`` wrote one over the other;
  ``-o -`` on a terminal printed gzip to it. Each is now refused with one line.
* ``/api/peek`` without a pattern, or with one that matches nothing, was a 500; it is a
  400 with one line, as pprof's web UI answers a report it cannot make.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator, Tuple

import pytest

from profkit.cli import main
from profkit.model import parse
from profkit.viewer import ViewerConfig, create_app


def test_profile_and_report_both_on_stdout_is_refused(
        corpus: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    rc = main(["top", str(corpus / "sample.cpu"), "-o", "-"])
    cap = capfdbinary.readouterr()
    assert rc == 2 and cap.out == b""
    err = cap.err.decode()
    assert err.startswith("profkit: -o - and the report would both go to standard output")
    assert err.count("\n") == 1


def test_profile_and_report_on_one_file_is_refused(
        corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.out"
    rc = main(["top", str(corpus / "sample.cpu"), "-o", str(out), "--write",
               str(tmp_path / "." / "x.out")])
    cap = capsys.readouterr()
    assert rc == 2 and not out.exists()
    assert "-o and --write both name" in cap.err and cap.err.count("\n") == 1


def test_profile_on_stdout_with_report_to_a_file_still_works(
        corpus: Path, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    report = tmp_path / "top.txt"
    rc = main(["top", str(corpus / "sample.cpu"), "-o", "-", "--write", str(report)])
    out = capfdbinary.readouterr().out
    assert rc == 0 and "flat%" in report.read_text()
    assert parse(out).samples  # stdout holds exactly the profile, nothing after it


def test_profile_to_a_terminal_is_refused(corpus: Path, tmp_path: Path) -> None:
    import pty

    main_fd, child_fd = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "profkit", "top", str(corpus / "sample.cpu"), "-o", "-",
         "--write", str(tmp_path / "top.txt")],
        stdout=child_fd, stderr=subprocess.PIPE)
    os.close(child_fd)
    _out, err = proc.communicate(timeout=120)
    seen = b""
    os.set_blocking(main_fd, False)
    try:
        seen = os.read(main_fd, 4096)
    except OSError:  # nothing was written (EAGAIN) or the terminal is closed (EIO)
        pass
    os.close(main_fd)
    assert proc.returncode == 1 and b"\x1f\x8b" not in seen
    assert err.decode() == "profkit: the -o profile is binary: give -o FILE or redirect stdout\n"


@pytest.fixture(scope="module")
def viewer_url(corpus: Path) -> Iterator[str]:
    from werkzeug.serving import make_server

    srv = make_server("127.0.0.1", 0, create_app(ViewerConfig([str(corpus / "sample.cpu")])),
                      threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(timeout=10)


def _get(url: str) -> Tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.mark.parametrize("query, message", [
    ("", "peek needs a regular expression"),
    ("?q=no_such_function_here", "no matches found for regexp: no_such_function_here"),
])
def test_viewer_peek_that_cannot_be_made_is_a_400(viewer_url: str, query: str,
                                                   message: str) -> None:
    status, body = _get(f"{viewer_url}/api/peek{query}")
    assert status == 400 and body.startswith(message) and body.count("\n") == 1


def test_viewer_peek_that_matches_is_200(viewer_url: str) -> None:
    status, body = _get(f"{viewer_url}/api/peek?q=main")
    assert status == 200 and '"main.main"' in body
