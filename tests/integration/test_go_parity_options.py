"""Every pprof option that changes numbers, against the real ``go tool pprof -top``.

Each case runs ``go tool pprof -top ARGS FILE`` once and ``profkit top`` with the
same arguments (Go's spellings: ``-focus=x``, ``-cum=true``, ``-trim=false`` ...,
and for some cases profkit's ``--focus x`` spellings), and requires the same
output byte for byte: the header lines, flat, flat%, sum%, cum, cum%. The files:
the shared corpus (Go-written CPU profiles) and profiles profkit writes here: one
with string and numeric labels, inlined frames, non-ASCII and upper-case names,
two sample types and the profile's own ``drop_frames``/``keep_frames``; and a
``-diff_base`` diff (negative values).
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from profkit.analysis import diff
from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, save
from profkit.model.profile import Line, Profile

pytestmark = pytest.mark.go


def _labelled() -> Profile:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000,
                       default_sample_type="cpu", mapping_filename="/usr/bin/python3")
    main_ = FrameKey("app.main", "app/main.py", 10, 1)
    handle = FrameKey("app.Handler.serve", "app/web.py", 20, 18)
    parse = FrameKey("app.parse_Überschrift", "app/text.py", 30, 29)
    enc = FrameKey("json.encoder.JSONEncoder.encode", "json/encoder.py", 40, 39)
    low = FrameKey("runtime.mallocgc", "runtime/malloc.go", 50, 49)
    drop_me = FrameKey("profkit.collect.sampler.tick", "profkit/collect/sampler.py", 5, 1)
    keep_me = FrameKey("profkit.collect.sampler.keep", "profkit/collect/sampler.py", 9, 8)
    b.add([parse, handle, main_], [5, 50_000_000],
          labels={"route": "/search", "thread": "w1"}, num_labels={"bytes": (4096, "bytes")})
    b.add([enc, handle, main_], [3, 30_000_000],
          labels={"route": "/book", "thread": "w2"}, num_labels={"bytes": (1 << 20, "bytes")})
    b.add([low, enc, handle, main_], [2, 20_000_000], labels={"route": "/book"})
    b.add([drop_me, low, parse, main_], [4, 41_000_000], labels={"thread": "w1"})
    b.add([keep_me, drop_me, main_], [1, 9_000_000], num_labels={"n": 7})
    b.add([handle, main_], [6, 61_000_000], labels={"route": "/search", "thread": "w3"})
    p = b.build(duration_nanos=1_000_000_000, time_nanos=1_700_000_000_000_000_000)
    # Inline `enc` into `handle`: one location, two lines (innermost first).
    locs = {loc.lines[0].function.name: loc for loc in p.locations}
    caller = locs["app.Handler.serve"].lines[0]
    locs["json.encoder.JSONEncoder.encode"].lines.append(Line(caller.function, 21))
    p.drop_frames = "profkit\\.collect\\..*"
    p.keep_frames = "profkit\\.collect\\.sampler\\.keep"
    return p


@pytest.fixture(scope="module")
def files(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    out = tmp_path_factory.mktemp("parity")
    lab = _labelled()
    save(lab, out / "labelled.pb.gz")
    half = _labelled()
    for s in half.samples:
        s.values = [v // 2 if i % 2 else v for i, v in enumerate(s.values)]
    half.samples = half.samples[:4]
    save(diff(half, lab), out / "diff.pb.gz")
    return {
        "large.cpu": str(corpus / "large.cpu"), "sample.cpu": str(corpus / "sample.cpu"),
        "labelled": str(out / "labelled.pb.gz"), "diff": str(out / "diff.pb.gz"),
    }


#: (file, go's arguments, profkit's arguments or None for the same)
CASES: List[Tuple[str, List[str], object]] = [
    ("large.cpu", ["-show_from=runtime\\.gcBgMarkWorker", "-nodecount=15"], None),
    ("large.cpu", ["-prune_from=^runtime\\.(mallocgc|scanobject)$", "-cum", "-nodecount=15"],
     ["--prune-from", "^runtime\\.(mallocgc|scanobject)$", "--cum", "-n", "15"]),
    ("large.cpu", ["-focus=[[:upper:]]", "-nodecount=10"], ["--focus", "[[:upper:]]", "-n", "10"]),
    ("large.cpu", ["-relative_percentages", "-focus=gc", "-nodecount=10"], None),
    ("large.cpu", ["-unit=ms", "-nodecount=10"], None),
    ("large.cpu", ["-divide_by=3", "-nodecount=10", "-lines"], None),
    ("large.cpu", ["-noinlines", "-nodecount=12"], None),
    ("large.cpu", ["-addresses", "-nodecount=12"], None),
    ("sample.cpu", ["-addresses", "-noinlines", "-cum"], None),
    ("large.cpu", ["-trim=false", "-focus=syscall"], None),
    ("large.cpu", ["-mean", "-sample_index=cpu", "-nodecount=10"], None),
    ("sample.cpu", ["-focus=\\Qruntime.\\E[[:lower:]]+$"], None),
    ("sample.cpu", ["-hide=\\pL+\\z", "-cum=true"], None),
    ("sample.cpu", ["-show_from=main", "-prune_from=mapiternext", "-lines"], None),
    ("sample.cpu", ["-mean", "-sample_index=cpu", "-unit=us"], None),
    ("sample.cpu", ["-nodefraction=0.1", "-edgefraction=0.5"], None),
    ("sample.cpu", ["-unit=foo"], None),  # an unknown unit: pprof's default unit
    ("sample.cpu", ["-divide_by=-2"], None),  # pprof ignores a negative ratio
    ("sample.cpu", ["-divide_by=1e9", "-unit=ns", "-nodefraction=0"], None),
    ("labelled", [], None),
    ("labelled", ["-tagroot=route,thread"], None),
    ("labelled", ["-tagleaf=bytes", "-cum"], None),
    ("labelled", ["-tagroot=route", "-tagleaf=thread,bytes", "-lines"], None),
    ("labelled", ["-tagfocus=route=/book", "-relative_percentages"], None),
    ("labelled", ["-tagshow=route", "-taghide=thread", "-tagroot=route,thread"], None),
    ("labelled", ["-mean"], None),
    ("labelled", ["-mean", "-sample_index=samples"], None),
    ("labelled", ["-focus=Überschrift", "-show_from=Handler"], None),
    ("labelled", ["-show=\\pL+_\\p{Lu}"], None),
    ("labelled", ["-sample_index=samples", "-divide_by=0.5"], None),
    ("labelled", ["-noinlines", "-filefunctions"], None),
    ("labelled", ["-unit=s"], ["--unit", "s"]),
    ("labelled", ["-prune_from=Handler", "-files"], None),
    ("labelled", ["-tagleaf=n"], None),  # a numeric label without unit
    ("labelled", ["-tagroot=nonexistent"], None),  # empty pseudo frames, as pprof
    ("labelled", ["-tagfocus=bytes=1mb:", "-tagroot=bytes"], None),
    ("diff", [], None),
    ("diff", ["-drop_negative"], None),
    ("diff", ["-drop_negative", "-cum", "-relative_percentages", "-focus=app"], None),
    ("diff", ["-mean"], None),
    ("diff", ["-mean", "-drop_negative"], None),
    ("diff", ["-relative_percentages", "-focus=parse"], None),
]


@pytest.mark.parametrize("name,go_args,pk_args", CASES,
                         ids=[f"{c[0]}:{' '.join(c[1])}" for c in CASES])
def test_top_matches_go_tool_pprof_with_option(  # type: ignore[no-untyped-def]
    files: Dict[str, str], go_pprof, capsys, name: str, go_args: List[str], pk_args: object
) -> None:
    path = files[name]
    expected = go_pprof("-top", *go_args, path).stdout
    argv = list(pk_args) if isinstance(pk_args, list) else list(go_args)
    assert main(["top", *argv, path]) == 0
    got = capsys.readouterr().out
    assert got == expected
