"""Review fix: ``profkit view`` that cannot listen says so in one line and exits 1.

werkzeug's ``make_server`` printed two lines of its own (``Address already in use`` /
``Port N is in use by another program ...``, or a bare ``Name or service not known``)
and exited; the CLI now binds the socket itself and reports what to do.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from profkit.cli import main


def test_port_in_use_is_one_line(corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        rc = main(["view", str(corpus / "sample.cpu"), "--no-browser", "--port", str(port)])
    err = capsys.readouterr().err
    assert rc == 1
    assert err == (f"profkit: cannot listen on 127.0.0.1:{port}: Address already in use: "
                   "give another --port (0 picks a free one)\n")


def test_host_that_does_not_resolve_is_one_line(
        corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["view", str(corpus / "sample.cpu"), "--no-browser", "--port", "0",
               "--host", "no-such-host.invalid"])
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1
    assert err.startswith("profkit: --host no-such-host.invalid: cannot resolve it (")
    assert err.endswith("give an address such as 127.0.0.1\n")
