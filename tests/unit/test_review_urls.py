"""Review fix: a malformed URL input is a usage error (one line, exit 2), not
``profkit: internal error: ValueError`` from ``urlsplit`` / ``SplitResult.port``."""

from __future__ import annotations

from pathlib import Path

import pytest

from profkit.cli import main


@pytest.mark.parametrize("url, reason", [
    ("http://[::1/debug/profile/heap", "Invalid IPv6 URL"),
    ("http://127.0.0.1:99999/debug/profile/heap", "Port out of range 0-65535"),
    ("http://localhost:abc/debug/profile/heap", "Port could not be cast"),
])
@pytest.mark.parametrize("command", [["top"], ["capture", "-o", "unused.pb.gz"]])
def test_malformed_url_is_one_usage_line(command: list, url: str, reason: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    command = [str(tmp_path / c) if c.endswith(".pb.gz") else c for c in command]
    rc = main([*command, url])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert err.startswith(f"profkit: {url}: not a valid URL ({reason}")
    assert "internal error" not in err and list(tmp_path.iterdir()) == []
