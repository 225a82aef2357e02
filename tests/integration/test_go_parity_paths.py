"""File names as pprof shows and finds them, against the real ``go tool pprof``.

pprof's graph reports cut ``/proc/self/cwd/`` (what Bazel and some build systems
record), ``-trim_path`` prefixes and, with ``-source_path``, everything up to the
search directory's base name from file names; ``-traces`` shows them as they are;
``-list`` finds the files through ``-source_path`` and ``-trim_path``. A profile
whose files were recorded on another machine (a CI builder, a container) is the
case users meet: same output byte for byte, as for every other option.
"""

from __future__ import annotations

import os
from typing import Dict, List

import pytest

from profkit.cli import main
from profkit.model import FrameKey, ProfileBuilder, save

pytestmark = pytest.mark.go

SOURCE = {
    "app/mod.py": "def helper():\n    total = 0\n    for i in range(10):\n        total += i\n"
                  "    return total\n\n\ndef main():\n    return helper()\n",
    "app/util.py": "def fmt(x):\n    s = str(x)\n    return s\n",
    "app/other.py": "def work():\n    n = 0\n    while n < 5:\n        n += 1\n    return n\n",
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, str]:
    """A checkout ``proj/`` (source files on disk) and a profile recorded elsewhere."""
    root = tmp_path_factory.mktemp("paths")
    proj = root / "proj"
    for rel, text in SOURCE.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    # recorded on a builder: one remote checkout path, one cwd-relative, one under /opt/ci
    mod, util, other = "/build/remote/proj/app/mod.py", "/proc/self/cwd/./app/util.py", \
        "/opt/ci/app/other.py"
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10_000_000)
    m9 = FrameKey("mod.main", mod, 9, 8)
    b.add([FrameKey("mod.helper", mod, 4, 1), m9], [6, 60_000_000])
    b.add([FrameKey("mod.helper", mod, 3, 1), m9], [2, 20_000_000])
    b.add([FrameKey("util.fmt", util, 2, 1), m9], [3, 30_000_000])
    b.add([FrameKey("other.work", other, 4, 1), FrameKey("util.fmt", "/proc/self/cwd/app/util.py", 3, 1),
           m9], [4, 40_000_000])
    save(b.build(duration_nanos=10**9), root / "p.pb.gz")
    return {"root": str(root), "proj": str(proj), "profile": str(root / "p.pb.gz")}


def _run(capsys: pytest.CaptureFixture[str], argv: List[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


# (go's report flag, profkit's command, arguments both take; {proj} is the checkout)
CASES = [
    ("-top", "top", ["-files"]),
    ("-top", "top", ["-lines"]),
    ("-top", "top", ["-lines", "-trim_path=/opt/ci"]),
    ("-top", "top", ["-files", "-source_path={proj}"]),
    ("-top", "top", ["-filefunctions", "-trim_path=/nothing" + os.pathsep + "/opt/ci/"]),
    ("-tree", "tree", ["-lines", "-trim_path=/opt/ci"]),
    ("-traces", "traces", ["-lines", "-trim_path=/opt/ci"]),  # traces: names as recorded
    ("-dot", "dot", ["-files", "-source_path={proj}"]),
]


@pytest.mark.parametrize("go_report,command,args", CASES,
                         ids=[f"{c[1]} {' '.join(c[2])}" for c in CASES])
def test_file_names_match_go_tool_pprof(  # type: ignore[no-untyped-def]
    tree: Dict[str, str], go_pprof, capsys, monkeypatch: pytest.MonkeyPatch,
    go_report: str, command: str, args: List[str],
) -> None:
    monkeypatch.chdir(tree["root"])
    argv = [a.replace("{proj}", tree["proj"]) for a in args]
    expected = go_pprof(go_report, *argv, tree["profile"]).stdout
    assert _run(capsys, [command, *argv, tree["profile"]]) == expected


def test_peek_file_names_match_go_tool_pprof(  # type: ignore[no-untyped-def]
    tree: Dict[str, str], go_pprof, capsys, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tree["root"])
    expected = go_pprof("-peek", "fmt", "-lines", tree["profile"]).stdout
    got = _run(capsys, ["peek", "fmt", "-lines", tree["profile"]])
    assert "app/util.py:2" in got and "/proc/self/cwd" not in got and got == expected


@pytest.mark.parametrize("pattern,args,cwd", [
    ("helper", ["-source_path={proj}"], "root"),  # /build/remote/proj/... found under {proj}
    ("work", ["-trim_path=/opt/ci", "-source_path={proj}"], "root"),
    ("fmt", [], "proj"),  # /proc/self/cwd/./app/util.py, relative to the current directory
])
def test_list_finds_sources_as_go_tool_pprof(  # type: ignore[no-untyped-def]
    tree: Dict[str, str], go_pprof, capsys, monkeypatch: pytest.MonkeyPatch,
    pattern: str, args: List[str], cwd: str,
) -> None:
    monkeypatch.chdir(tree[cwd])
    argv = [a.replace("{proj}", tree["proj"]) for a in args]
    expected = go_pprof("-list", pattern, *argv, tree["profile"]).stdout
    got = _run(capsys, ["list", pattern, *argv, tree["profile"]])
    assert "ROUTINE" in got and "not found" not in got and got == expected


def test_source_and_trim_paths_never_come_from_a_url() -> None:
    from profkit.options import ViewOptions

    o = ViewOptions.from_query({"source_path": "/etc", "trim_path": "/x", "f": "a"})
    assert (o.source_path, o.trim_path, o.focus) == ("", "", "a")
    assert ViewOptions(source_path="/etc", focus="a").to_query() == {"f": "a"}
