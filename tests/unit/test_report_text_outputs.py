"""``profkit list`` and ``profkit comments``: golden files, notes, JSON, hostile input.

These reports have no byte-for-byte pprof twin here (pprof stops at a missing
source file and says nothing about a changed one), so their text is pinned by
golden files under tests/testdata/reports/text/. Regenerate them with
``PROFKIT_UPDATE_GOLDEN=1 pytest tests/unit/test_report_text_outputs.py`` and
review the diff. Machine-specific paths are replaced by ``<testdata>``/``<tmp>``.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import List, Sequence, Tuple

import pytest

from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, save

TESTDATA = Path(__file__).resolve().parent.parent / "testdata" / "reports" / "text"
SOURCE = TESTDATA / "listed_module.py"
UPDATE = os.environ.get("PROFKIT_UPDATE_GOLDEN", "") == "1"
PROFILE_TIME = 1_700_000_000 * 10**9  # Nov 2023: files written later count as changed


@pytest.fixture(autouse=True)
def _fixed_place(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run from a neutral directory in UTC, so paths and times are the same everywhere."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


def frames(path: Path) -> Tuple[FrameKey, ...]:
    """main -> parse, main -> render -> <lambda>, in ``path`` (listed_module's lines)."""
    f = str(path)
    return (
        FrameKey("listed_module.main", f, 22, 21), FrameKey("listed_module.main", f, 23, 21),
        FrameKey("listed_module.parse", f, 9, 8), FrameKey("listed_module.parse", f, 12, 8),
        FrameKey("listed_module.render", f, 17, 16), FrameKey("listed_module.render", f, 18, 16),
        FrameKey("listed_module.render.<locals>.<lambda>", f, 17, 17),
    )


def write_profile(out: Path, source: Path, comments: Sequence[str] = (),
                  time_nanos: int = PROFILE_TIME) -> str:
    main22, main23, parse9, parse12, render17, render18, lam = frames(source)
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000,
                       comments=comments)
    b.add([parse12, main22], [7, 70_000_000])
    b.add([parse9, main22], [2, 20_000_000])
    b.add([lam, render17, main23], [4, 40_000_000])
    b.add([render18, main23], [3, 30_000_000])
    b.add([main23], [1, 10_000_000])
    save(b.build(duration_nanos=2 * 10**9, time_nanos=time_nanos), out)
    return str(out)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> Tuple[int, str, str]:
    rc = main(list(argv))
    got = capsys.readouterr()
    return rc, got.out, got.err


def check_golden(name: str, text: str, tmp_path: Path) -> None:
    text = text.replace(str(TESTDATA), "<testdata>").replace(str(tmp_path), "<tmp>")
    golden = TESTDATA / name
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"missing golden file {golden} (run with PROFKIT_UPDATE_GOLDEN=1)"
    assert text == golden.read_text()


def test_list_annotates_source_on_disk(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, time_nanos=time.time_ns())
    rc, out, err = run(capsys, "list", r"listed_module\.(parse|render)", prof)
    assert rc == 0 and err == ""
    assert "Note:" not in out  # the file is older than the profile and long enough
    assert "      70ms       70ms     12:        counts[w] = counts.get(w, 0) + 1" in out
    check_golden("list_parse_render.txt", out, tmp_path)


def test_list_notes_a_missing_and_a_changed_file(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    changed = tmp_path / "changed.py"
    shutil.copy(SOURCE, changed)
    changed.write_text("\n".join(SOURCE.read_text().splitlines()[:15]) + "\n")  # render is gone
    os.utime(changed, (1_800_000_000, 1_800_000_000))
    missing = TESTDATA / "gone_module.py"
    assert not missing.exists()
    p_changed = write_profile(tmp_path / "c.pb.gz", changed)
    p_missing = write_profile(tmp_path / "m.pb.gz", missing)
    rc, out_c, err_c = run(capsys, "list", "render$", p_changed)
    assert rc == 0 and err_c == ""
    assert "has 15 lines but samples are on line 17 and later" in out_c
    assert "was modified at 2027-01-15 08:00:00, after the profile was taken" in out_c
    rc, out_m, err_m = run(capsys, "list", "parse", p_missing)
    assert rc == 0 and err_m == ""
    assert "gone_module.py not found" in out_m
    assert "      70ms       70ms     12:\n" in out_m  # numbers kept, no text
    check_golden("list_changed_and_missing.txt", out_c + out_m, tmp_path)


def test_list_json_is_what_the_source_view_reads(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # taken now: a fresh checkout's files are newer than PROFILE_TIME (they would be "changed")
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, time_nanos=time.time_ns())
    rc, out, _ = run(capsys, "list", "--json", "listed_module.main", prof)
    assert rc == 0
    doc = json.loads(out)
    (fn,) = doc["functions"]
    assert fn["name"] == "listed_module.main" and fn["file"] == str(SOURCE)
    assert (fn["flat"], fn["cum"]) == (10_000_000, 170_000_000)
    by_line = {ln["line"]: ln for ln in fn["lines"]}
    assert by_line[22]["cum"] == 90_000_000 and by_line[23]["flat"] == 10_000_000
    assert by_line[23]["text"] == "    return render(counts)"
    assert min(by_line) == 21 and max(by_line) == 23  # start line .. end of file
    assert fn["note"] is None


def test_list_hostile_pattern_and_no_match(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE)
    rc, out, err = run(capsys, "list", "parse(", prof)
    assert rc == 1 and out == ""  # a bad option value, as -focus='parse(' is
    assert err.count("\n") == 1 and "'parse('" in err and "Traceback" not in err
    rc, out, err = run(capsys, "list", "no_such_function", prof)
    assert rc == 1 and out == ""
    assert err == "profkit: no matches found for regexp: no_such_function\n"


@pytest.mark.parametrize("argv", [
    ["list", "("], ["peek", "("], ["top", "-focus=("], ["tree", "-hide=("], ["dot", "-show=("],
    ["traces", "-ignore=("], ["raw", "-show_from=("], ["tags", "-tagshow=("],
], ids=lambda a: " ".join(a))
def test_a_bad_regex_is_the_same_error_everywhere(capsys, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  argv: List[str]) -> None:
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE)
    rc, out, err = run(capsys, *argv, prof)
    assert (rc, out) == (1, "")
    assert err.count("\n") == 1 and "regexp '('" in err and "at offset 0" in err


def test_comments_golden_and_json(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    comments = ["captured by profkit", "#note: hidden in headers, listed here", "evil \x1b[2J name"]
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, comments)
    rc, out, err = run(capsys, "comments", prof)
    assert rc == 0 and err == "" and "\x1b" not in out
    check_golden("comments.txt", out, tmp_path)
    rc, out, _ = run(capsys, "comments", "--json", prof)
    assert json.loads(out) == {"comments": comments}


def test_reports_refuse_a_damaged_file_in_one_line(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.pb.gz"
    bad.write_bytes(b"\x1f\x8b\x08\x00garbage")
    for report in ("traces", "tags", "raw", "comments", "callgrind"):
        rc, out, err = run(capsys, report, str(bad))
        assert rc == 1 and out == "", report
        assert err.count("\n") == 1 and "bad.pb.gz" in err and "Traceback" not in err, report
    rc, _, err = run(capsys, "list", "x", str(bad))
    assert rc == 1 and err.count("\n") == 1


def test_raw_of_a_url_fetches_once_and_matches_the_file(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import http.server
    import threading

    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, ["served"])
    body = Path(prof).read_bytes()
    hits: List[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/debug/pprof/heap"
        rc, from_url, err = run(capsys, "raw", "--focus", "parse", url)
        assert rc == 0, err
    finally:
        server.shutdown()
        server.server_close()
    assert len(hits) == 1  # the profile is fetched once, not again for the raw dump
    rc, from_file, _ = run(capsys, "raw", "--focus", "parse", prof)
    assert from_url == from_file and "Comment: served" in from_url


def test_raw_json_holds_what_the_text_shows(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, ["c1"])
    rc, out, _ = run(capsys, "raw", "--json", "--focus", "render", prof)
    assert rc == 0
    doc = json.loads(out)
    assert doc["comments"] == ["c1"] and doc["period"] == 10_000_000
    assert [s["values"] for s in doc["samples"]] == [[4, 40_000_000], [3, 30_000_000]]
    by_id = {loc["id"]: loc for loc in doc["locations"]}
    leaf = by_id[doc["samples"][0]["locations"][0]]
    assert leaf["lines"][0]["function"] == "listed_module.render.<locals>.<lambda>"
    assert leaf["lines"][0]["line"] == 17 and leaf["lines"][0]["start_line"] == 17
    assert doc["mappings"] and doc["mappings"][0]["id"] == leaf["mapping"]


def test_list_reads_only_under_a_source_root_when_given(tmp_path: Path) -> None:
    from profkit.report import ReportRequest, build
    from profkit.views.source import source_from_report

    prof = write_profile(tmp_path / "p.pb.gz", SOURCE, time_nanos=time.time_ns())
    report = build(ReportRequest([prof], kind="list", pattern="parse"))
    (inside,) = source_from_report(report, root=str(TESTDATA)).files
    assert inside.lines and inside.lines[0].text == "def parse(text):" and not inside.note
    (outside,) = source_from_report(report, root=str(tmp_path)).files
    assert outside.note.startswith(f"source file {SOURCE} is outside the source root")
    assert all(ln.text == "" for ln in outside.lines)
    assert [(ln.line, ln.flat) for ln in outside.lines] == [(9, 20_000_000), (12, 70_000_000)]


def test_hostile_names_and_labels_are_escaped_in_every_text_report(capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    evil = "bad\x1b]0;owned\x07\nname\u202e"
    b = ProfileBuilder([("samples", "count")], mapping_filename="/bin/\x1b[2Jpython")
    b.add([FrameKey(evil, "/src/\x1b[31mx.py", 3, 1), FrameKey("ok.main", "/src/x.py", 9, 8)],
          [5], labels={"k\x1b[1m": "v\r\x1b[2K"}, num_labels={"n\x9b": (7, "by\x1btes")})
    path = tmp_path / "evil.pb.gz"
    save(b.build(duration_nanos=10**9), path)
    for argv in (["traces"], ["tags"], ["raw"], ["list", "bad|ok"], ["comments"]):
        rc, out, err = run(capsys, *argv, str(path))
        assert rc == 0, (argv, err)
        for ch in ("\x1b", "\x07", "\r", "\x9b", "\u202e"):
            assert ch not in out, (argv, ch)
        assert "\\x1b" in out or argv == ["comments"], argv
