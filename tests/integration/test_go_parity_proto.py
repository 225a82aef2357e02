"""``profkit REPORT -o FILE`` against ``go tool pprof -proto`` (Go 1.19).

pprof's ``-proto`` writes the profile after its driver's filters: tagroot/tagleaf
pseudo frames (``addLabelNodes``), focus/hide/show..., tagshow/taghide, and the
profile's own drop_frames; it forces address granularity with inlines (so
``-noinlines`` and ``-functions`` change nothing) and scales every value by
``1/divide_by`` (truncating). Both written files are read back with ``go tool
pprof -raw`` (which renumbers locations in order of use, so ids do not matter)
and must print the same text: samples, values, labels, locations and functions.
"""

from __future__ import annotations

from pathlib import Path
from typing import List

import pytest
from test_go_parity_calltree_mean import files  # noqa: F401  (the shared profiles)

from profkit.cli import main
from profkit.options import ViewOptions
from profkit.render.registry import produce
from profkit.report import ReportRequest

pytestmark = pytest.mark.go

PROTO_CASES = [  # (options, file, whether the option changes the written profile)
    (["-tagroot=thread"], "labels", True),
    (["-tagleaf=thread"], "labels", True),
    (["-tagroot=thread", "-tagleaf=thread", "-focus=func1"], "labels", True),
    (["-tagleaf=thread", "-hide=worker"], "labels", True),  # a pseudo frame hidden
    (["-tagroot=nosuch"], "labels", True),  # an empty-named frame on every sample
    (["-tagroot=bytes,thread", "-unit=kb"], "heap", True),  # numeric values scaled
    (["-tagleaf=thread,bytes", "-taghide=thread"], "heap", True),
    (["-tagshow=lock"], "delay", False),
    (["-taghide=thread"], "labels", True),
    (["-tagshow=xx"], "heap", True),
    (["-divide_by=3"], "labels", True),
    (["-divide_by=0.3"], "delay", True),
    (["-divide_by=-2"], "labels", False),  # pprof scales only by a positive ratio
    (["-noinlines"], "labels", False),  # ignored by -proto
    (["-functions", "-noinlines"], "labels", False),
    (["-mean", "-sample_index=contentions"], "delay", False),  # report options only
    (["-tagroot=thread", "-show_from=func"], "drop", True),
    ([], "drop", True),  # the profile's drop_frames applied
    (["-tagleaf=x", "-divide_by=7"], "sample", True),
]


def _raw(go_pprof, path: str) -> str:  # type: ignore[no-untyped-def]
    return go_pprof("-raw", path).stdout


@pytest.mark.parametrize("opts,name,changes", PROTO_CASES,
                         ids=[f"{' '.join(c[0]) or 'none'} {c[1]}" for c in PROTO_CASES])
def test_written_profile_matches_go_proto(  # type: ignore[no-untyped-def]
    go_pprof, files, tmp_path: Path, capsys, opts: List[str], name: str, changes: bool  # noqa: F811
) -> None:
    go_out = tmp_path / "go.pb.gz"
    go_out.write_bytes(b"")
    go_pprof("-proto", f"-output={go_out}", *opts, files[name])
    ours = tmp_path / "ours.pb.gz"
    assert main(["top", *opts, "-o", str(ours), files[name]]) == 0, capsys.readouterr().err
    capsys.readouterr()
    expected = _raw(go_pprof, str(go_out))
    assert (expected != _raw(go_pprof, files[name])) == changes
    assert _raw(go_pprof, str(ours)) == expected


def test_proto_renderer_is_the_o_profile(  # type: ignore[no-untyped-def]
    go_pprof, files, tmp_path: Path, capsys  # noqa: F811
) -> None:
    """The registry's proto output (downloads) writes what -o writes."""
    opts = ViewOptions(tagroot="thread", taghide="thread", divide_by=3.0, focus="func1")
    data = produce(ReportRequest([files["labels"]], kind="proto", format="pprof", options=opts))
    assert isinstance(data, bytes)
    (tmp_path / "r.pb.gz").write_bytes(data)
    assert main(["top", "-tagroot=thread", "-taghide=thread", "-divide_by=3", "-focus=func1",
                 "-o", str(tmp_path / "o.pb.gz"), files["labels"]]) == 0
    capsys.readouterr()
    assert _raw(go_pprof, str(tmp_path / "r.pb.gz")) == _raw(go_pprof, str(tmp_path / "o.pb.gz"))


def test_written_profile_keeps_what_the_report_shows(  # type: ignore[no-untyped-def]
    go_pprof, files, tmp_path: Path, capsys  # noqa: F811
) -> None:
    """``go tool pprof -top`` of the -o file = profkit's top with the same tagroot."""
    out = tmp_path / "t.pb.gz"
    assert main(["top", "-tagroot=thread", "-o", str(out), files["labels"]]) == 0
    capsys.readouterr()
    assert main(["top", "-cum", "-tagroot=thread", files["labels"]]) == 0
    ours = capsys.readouterr().out
    theirs = go_pprof("-top", "-cum", str(out)).stdout
    assert "main" in theirs and ours.splitlines()[4:] == theirs.splitlines()[4:]
