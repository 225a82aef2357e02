"""``profkit top --diff-base/--base`` (the StackTable diff path) against the real ``go tool pprof``.

Pairs: the corpus (a Go profile with inlined frames) against itself and against
another Go profile, and profkit-written profiles whose location ids name other
functions in each file, with labels, and with the same lines at other addresses.
Options: focus, hide, nodecount, granularity, sample index, cum, tagfocus, normalize.
The output must be byte-identical to pprof's ``-top``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Dict, List

import pytest

from profkit.cli import main
from profkit.model import FrameKey, Profile, ProfileBuilder, save

pytestmark = pytest.mark.go


def cpu_profile(stacks: Dict[tuple, int], *, labels: Dict[str, str],
                duration_nanos: int = 1_000_000_000) -> Profile:
    """Each stack (leaf first) gets ``n`` samples of 10 ms."""
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000,
                       default_sample_type="cpu", mapping_filename="/usr/bin/python3")
    for stack, n in stacks.items():
        b.add([FrameKey(f, f"{f.split('.')[0]}.py", 10, 1) for f in stack],
              [n, n * 10_000_000], labels=labels)
    return b.build(duration_nanos=duration_nanos, time_nanos=1_000_000_000)


@pytest.fixture(scope="module")
def pair_files(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    d = tmp_path_factory.mktemp("go-diff")
    a = cpu_profile({("m.f", "m.main"): 30, ("m.g", "m.h", "m.main"): 12,
                     ("m.rec", "m.rec", "m.main"): 5}, labels={"route": "/a"})
    b = cpu_profile({("m.k", "m.main"): 9, ("m.g", "m.h", "m.main"): 20, ("m.f", "m.main"): 10},
                    labels={"route": "/b"}, duration_nanos=3_000_000_000)
    moved = copy.deepcopy(a)
    for loc in moved.locations:
        loc.address = 0x4000 + loc.id * 16
    out = {}
    for name, p in (("a", a), ("b", b), ("moved", moved)):
        out[name] = str(d / f"{name}.pb.gz")
        save(p, out[name])
    return out


CORPUS_CASES = [
    ("large.cpu", "large.cpu", ["-diff_base"], []),
    ("large.cpu", "large.cpu", ["-base"], []),
    ("large.cpu", "sample.cpu", ["-diff_base"], ["-nodecount=15"]),
    ("large.cpu", "sample.cpu", ["-base"], ["-focus=runtime", "-nodecount=10"]),
    ("sample.cpu", "large.cpu", ["-diff_base"], ["-hide=runtime", "-cum", "-nodecount=10"]),
    ("sample.cpu", "large.cpu", ["-diff_base"], ["-lines", "-nodecount=12"]),
    ("large.cpu", "sample.cpu", ["-diff_base", "-normalize"], ["-sample_index=samples",
                                                              "-nodecount=10"]),
]


def _pk_args(go_args: List[str]) -> List[str]:
    out = []
    for a in go_args:
        if a == "-lines":
            out += ["--granularity", "lines"]
        elif a == "-cum":
            out.append("--cum")
        else:
            key, _, value = a.lstrip("-").partition("=")
            out += [f"--{key.replace('_', '-')}"] + ([value] if value else [])
    return out


def _profkit(capsys: pytest.CaptureFixture[str], argv: List[str]) -> str:
    assert main(["top", *argv]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(("new", "base", "mode", "opts"), CORPUS_CASES)
def test_corpus_diffs_match_pprof(  # type: ignore[no-untyped-def]
    corpus: Path, go_pprof, capsys, new: str, base: str, mode: List[str], opts: List[str]
) -> None:
    new_path, base_path = str(corpus / new), str(corpus / base)
    flag = [f"{mode[0]}={base_path}", *mode[1:]]
    expected = go_pprof("-top", *flag, *opts, new_path).stdout
    pk_mode = [f"--{mode[0].lstrip('-').replace('_', '-')}", base_path] + (
        ["--normalize"] if "-normalize" in mode else [])
    assert _profkit(capsys, [*pk_mode, *_pk_args(opts), new_path]) == expected


@pytest.mark.parametrize(("new", "base", "flag", "opts"), [
    ("a", "b", "-diff_base", []), ("b", "a", "-diff_base", ["-cum"]),
    ("a", "a", "-diff_base", []), ("a", "a", "-base", []), ("a", "moved", "-base", []),
    ("a", "b", "-diff_base", ["-tagfocus=route=/b"]), ("a", "b", "-base", ["-focus=m.g"]),
    ("a", "b", "-diff_base", ["-lines"]),
])
def test_profkit_written_diffs_match_pprof(  # type: ignore[no-untyped-def]
    pair_files: Dict[str, str], go_pprof, capsys, new: str, base: str, flag: str,
    opts: List[str],
) -> None:
    n, b = pair_files[new], pair_files[base]
    expected = go_pprof("-top", f"{flag}={b}", *opts, n).stdout
    got = _profkit(capsys, [f"--{flag.lstrip('-').replace('_', '-')}", b, *_pk_args(opts), n])
    assert got == expected
