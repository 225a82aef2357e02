"""Review fix: standard output that refuses data (``> /dev/full``, a full disk) is one
line and exit 1, not ``profkit: internal error: OSError``: report commands and
``diff`` write through ``write_atomic("-")``, print()-based commands (``info``) are
caught in ``main``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args, message", [
    (["top", "{f}"], "profkit: -: cannot write (No space left on device)\n"),
    (["diff", "--base", "{f}", "{f}", "--new", "{f}", "{f}"],
     "profkit: -: cannot write (No space left on device)\n"),
    (["info", "{f}"], "profkit: cannot write the output (No space left on device)\n"),
])
def test_full_stdout_is_one_line(corpus: Path, args: list, message: str) -> None:
    argv = [a.format(f=corpus / "sample.cpu") for a in args]
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "profkit", *argv], stdout=full,
                              stderr=subprocess.PIPE, timeout=120)
    assert proc.returncode == 1
    assert proc.stderr.decode() == message
