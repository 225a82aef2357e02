"""``profkit raw`` against the real ``go tool pprof -raw`` (Go 1.19) where stacks change.

pprof merges what it reads (equal samples summed, all-zero ones dropped, locations
numbered by first use), then applies the profile's own ``drop_frames``, adds the
``tagroot``/``tagleaf`` pseudo frames (numbered after every location, roots before
leaves, sample by sample) and filters; ``-raw`` prints every location it holds,
with the lines the filters left, even when no sample uses it any more. Each case
runs both tools with the same arguments and requires the same text byte for byte.
The inputs: a profkit-written profile with labels, an inlined frame, a sample
written twice, an all-zero sample, and its own ``drop_frames``/``keep_frames``
(two samples that are equal only once those frames are dropped); and the corpus.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest

from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, save
from profkit.model.profile import Line, Profile, Sample

pytestmark = pytest.mark.go


def _profile() -> Profile:
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000,
                       default_sample_type="cpu", mapping_filename="/usr/bin/python3")
    main_ = FrameKey("app.main", "app/main.py", 10, 1)
    serve = FrameKey("app.Handler.serve", "app/web.py", 20, 18)
    parse = FrameKey("app.parse", "app/text.py", 30, 29)
    enc = FrameKey("json.encoder.encode", "json/encoder.py", 40, 39)
    tick = FrameKey("profkit.sampler.tick", "profkit/sampler.py", 5, 1)
    tock = FrameKey("profkit.sampler.tock", "profkit/sampler.py", 7, 6)
    keep = FrameKey("profkit.sampler.keep", "profkit/sampler.py", 9, 8)
    b.add([parse, main_], [0, 0], labels={"thread": "idle"})  # all zero: pprof drops it
    b.add([parse, serve, main_], [5, 50_000_000],
          labels={"route": "/search", "thread": "w1"}, num_labels={"bytes": (4096, "bytes")})
    b.add([enc, serve, main_], [3, 30_000_000], labels={"route": "/book", "thread": "w2"},
          num_labels={"bytes": (1 << 20, "bytes")})
    b.add([tick, parse, serve, main_], [4, 41_000_000], labels={"thread": "w1"})
    b.add([tock, parse, serve, main_], [2, 19_000_000], labels={"thread": "w1"})
    b.add([keep, tick, main_], [1, 9_000_000], num_labels={"n": 7})
    b.add([serve, main_], [6, 61_000_000], labels={"route": "/search", "thread": "w3"})
    p = b.build(duration_nanos=1_000_000_000, time_nanos=1_700_000_000_000_000_000)
    # Inline `enc` into `serve`: one location, two lines (innermost first).
    locs = {loc.lines[0].function.name: loc for loc in p.locations}
    caller = locs["app.Handler.serve"].lines[0]
    locs["json.encoder.encode"].lines.append(Line(caller.function, 21))
    first = p.samples[1]  # written twice: pprof sums the two on reading
    p.samples.append(Sample(list(first.locations), [2, 20_000_000], dict(first.labels),
                            dict(first.num_labels), dict(first.num_units)))
    p.drop_frames = "profkit\\.sampler\\..*"
    p.keep_frames = "profkit\\.sampler\\.keep"
    return p


@pytest.fixture(scope="module")
def files(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    out = tmp_path_factory.mktemp("parity-raw")
    save(_profile(), out / "frames.pb.gz")
    return {"frames": str(out / "frames.pb.gz"), "sample.cpu": str(corpus / "sample.cpu"),
            "large.cpu": str(corpus / "large.cpu")}


#: (input, arguments: go's spellings, which profkit takes too)
CASES: List[Any] = [
    ("frames", []),  # drop_frames on load: the dropped frames' locations are listed
    ("frames", ["-focus=parse"]),  # the same on the report's fast path
    ("frames", ["-tagroot=thread"]),
    ("frames", ["-tagleaf=bytes"]),
    ("frames", ["-tagroot=route,thread", "-tagleaf=bytes,n"]),
    ("frames", ["-tagroot=thread", "-hide=w1"]),  # a pseudo frame hidden: no lines
    ("frames", ["-tagleaf=route", "-show_from=serve"]),
    ("frames", ["-tagroot=thread", "-focus=parse", "-tagfocus=thread=w1"]),
    ("frames", ["-show_from=serve"]),
    ("frames", ["-show_from=encode"]),  # the inlined location keeps its inner line
    ("frames", ["-hide=parse"]),
    ("frames", ["-hide=app|json"]),  # every line of some locations hidden
    ("frames", ["-show=serve"]),
    ("sample.cpu", ["-tagroot=thread"]),
    ("sample.cpu", ["-tagleaf=a,b", "-show_from=main"]),
    pytest.param("large.cpu", ["-tagroot=k", "-hide=runtime\\.mallocgc"],
                 marks=pytest.mark.slow),
]


def _id(case: Any) -> str:
    name, args = case.values if hasattr(case, "values") else case
    return f"{name}:{' '.join(args)}"


@pytest.mark.parametrize("name,args", CASES, ids=[_id(c) for c in CASES])
def test_raw_matches_go_tool_pprof(  # type: ignore[no-untyped-def]
    files: Dict[str, str], go_pprof, capsys, name: str, args: List[str]
) -> None:
    path = files[name]
    expected = go_pprof("-raw", *args, path).stdout
    assert main(["raw", *args, path]) == 0
    got = capsys.readouterr().out
    assert "Locations\n" in expected and "Mappings\n" in expected
    assert got == expected
