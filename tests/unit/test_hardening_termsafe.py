"""term_safe: terminal control characters in names are escaped; plain text is untouched."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Tuple

import pytest
from hypothesis import given
from hypothesis import strategies as st

from profkit.cli import main
from profkit.model import codec
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.render.termsafe import term_safe


def test_plain_names_are_unchanged() -> None:
    for name in ["main.work", "pkg/mod.(*T).Method", "C:\\path\\x1b", "naïve·名前", ""]:
        assert term_safe(name) == name


def test_escape_sequences_cr_and_newline_are_escaped() -> None:
    assert term_safe("a\x1b]0;pwned\x07b") == "a\\x1b]0;pwned\\x07b"
    assert term_safe("a\rb\nc\td") == "a\\rb\\nc\\td"
    assert term_safe("\x9b2J\x7f") == "\\x9b2J\\x7f"
    assert term_safe("x\u202ey\u2028z") == "x\\u202ey\\u2028z"


@given(st.text())
def test_result_has_no_control_characters(text: str) -> None:
    out = term_safe(text)
    assert all(ord(c) >= 0x20 and not 0x7F <= ord(c) <= 0x9F for c in out)
    assert "\u2028" not in out and "\u202e" not in out
    if text.isprintable():
        assert out == text


# --- text reports and error lines escape names from the profile; JSON and pprof keep them

EVIL = "evil\x1b]0;pwned\x07\x1b[2J"
FORGE = "forge\r\n      100 99.99% 99.99%        100 99.99%  fake"


@pytest.fixture(scope="module")
def evil(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    d = tmp_path_factory.mktemp("evil")
    b = ProfileBuilder([("samples", "count")], comments=["note\x1b]0;title\x07"])
    b.add([FrameKey(EVIL), FrameKey("main")], [5])
    b.add([FrameKey(FORGE), FrameKey("main")], [3])
    base = ProfileBuilder([("samples", "count")])
    base.add([FrameKey(EVIL), FrameKey("main")], [1])
    codec.save(b.build(), d / "evil.pb.gz")
    codec.save(base.build(), d / "base.pb.gz")
    return d / "evil.pb.gz", d / "base.pb.gz"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _assert_terminal_safe(text: str) -> None:
    assert not any(c in text for c in "\x1b\x07\r"), repr(text)


@pytest.mark.parametrize("extra", [[], ["--diff-base", "BASE"]])
def test_top_escapes_names_and_comments(evil: Tuple[Path, Path], extra: List[str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path, base = evil
    code, out, _ = _run(capsys, "top", *[str(base) if a == "BASE" else a for a in extra],
                        str(path))
    assert code == 0
    _assert_terminal_safe(out)
    assert "note\\x1b]0;title\\x07" in out
    assert term_safe(EVIL) in out and term_safe(FORGE) in out
    rows = out.split("flat  flat%")[1].splitlines()[1:]
    assert len(rows) == 3  # the newline in a name forged no row


def test_diff_escapes_names(evil: Tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    path, base = evil
    code, out, _ = _run(capsys, "diff", str(base), str(path))
    assert code == 0
    _assert_terminal_safe(out)
    assert term_safe(EVIL) in out


def test_info_escapes(evil: Tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "info", str(evil[0]))
    assert code == 0
    _assert_terminal_safe(out)


def test_json_and_pprof_keep_names(evil: Tuple[Path, Path], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "top", "--json", str(evil[0]))
    assert code == 0
    assert {r["name"] for r in json.loads(out)["rows"]} >= {EVIL, FORGE}
    out_path = tmp_path / "copy.pb.gz"
    assert _run(capsys, "convert", str(evil[0]), "-o", str(out_path))[0] == 0
    assert {f.name for f in codec.load(out_path).functions} >= {EVIL, FORGE}


def test_error_line_escapes_the_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = str(tmp_path / "x\x1b[2J\ny.pb.gz")
    code, _, err = _run(capsys, "info", name)
    assert code == 1
    assert err.count("\n") == 1 and err.startswith("profkit: ")
    _assert_terminal_safe(err)
    assert "x\\x1b[2J\\ny.pb.gz: no such file" in err
