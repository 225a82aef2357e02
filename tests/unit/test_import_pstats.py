"""pstats importer on a real cProfile ``dump_stats`` file produced here."""

from __future__ import annotations

import cProfile
import importlib.util
import marshal
import pstats
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest
from profile_stacks import types

from profkit.importers import detect
from profkit.load import load_any
from profkit.model import Profile, ProfileFormatError, check_valid

WORKLOAD = textwrap.dedent(
    """
    def leaf(n):
        s = 0
        for i in range(n):
            s += i
        return s

    def a():
        return leaf(60000)

    def b():
        return leaf(30000) + a()

    def main():
        f = lambda: sum(leaf(500) for _ in range(40))
        f()
        a()
        b()
        return len([leaf(100) for _ in range(5)])
    """
)


@pytest.fixture(scope="module")
def stats_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pstats")
    src = d / "cpwork.py"
    src.write_text(WORKLOAD)
    spec = importlib.util.spec_from_file_location("cpwork", src)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    prof = cProfile.Profile()
    prof.enable()
    mod.main()
    prof.disable()
    out = d / "out.prof"
    prof.dump_stats(str(out))
    sys.modules.pop("cpwork", None)
    return out


def _flat(p: Profile, index: int) -> Dict[str, int]:
    flat: Dict[str, int] = {}
    for s in p.samples:
        name = s.locations[0].lines[0].function.name
        flat[name] = flat.get(name, 0) + s.values[index]
    return flat


def _cum(p: Profile, index: int) -> Dict[str, int]:
    cum: Dict[str, int] = {}
    for s in p.samples:
        for name in {loc.lines[0].function.name for loc in s.locations}:
            cum[name] = cum.get(name, 0) + s.values[index]
    return cum


def _name(key: tuple) -> str:
    filename, _line, func = key
    if filename == "~":
        return "{" + func[1:-1] + "}"
    return f"cpwork.{func}"


def test_flat_equals_tottime_and_calls(stats_file: Path) -> None:
    assert detect(stats_file).name == "pstats"
    p = load_any(stats_file)
    check_valid(p)
    assert types(p) == ["calls/count", "wall/nanoseconds"]
    st = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    flat_ns, flat_calls = _flat(p, 1), _flat(p, 0)
    for key, (_cc, nc, tt, _ct, _callers) in st.items():
        name = _name(key)
        assert flat_ns.get(name, 0) == round(tt * 1e9), name
        assert flat_calls.get(name, 0) == nc, name
    assert p.duration_nanos == sum(round(v[2] * 1e9) for v in st.values())
    assert p.total(1) == p.duration_nanos


@pytest.mark.parametrize("index, field", [("wall", 2), ("calls", 1)])
def test_profkit_top_flat_equals_pstats(
    stats_file: Path, index: str, field: int, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from profkit.cli import main

    assert main(["top", "--json", "--nodefraction", "0", "--sample-index", index,
                 str(stats_file)]) == 0
    rows = {r["name"]: r["flat"] for r in json.loads(capsys.readouterr().out)["rows"]}
    st = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    expected = {_name(k): (round(v[2] * 1e9) if field == 2 else v[1]) for k, v in st.items()}
    assert {k: v for k, v in rows.items() if v} == {k: v for k, v in expected.items() if v}


def test_names_are_module_qualified(stats_file: Path) -> None:
    p = load_any(stats_file)
    names = {f.name for f in p.functions}
    assert {"cpwork.leaf", "cpwork.main", "cpwork.<lambda>", "cpwork.<genexpr>"} <= names
    assert not any(n.startswith("<") for n in names)
    assert any(n.startswith("{built-in method") or n.startswith("{method") for n in names)
    leaf = next(f for f in p.functions if f.name == "cpwork.leaf")
    assert leaf.filename.endswith("cpwork.py") and leaf.start_line == 2


def test_stacks_rebuild_cumulative_time_of_a_call_tree(stats_file: Path) -> None:
    p = load_any(stats_file)
    st = pstats.Stats(str(stats_file)).stats  # type: ignore[attr-defined]
    cum = _cum(p, 1)
    for key, (_cc, _nc, _tt, ct, _callers) in st.items():
        if key[2] in ("main", "a", "<lambda>"):
            # a is reached from main and from b: the split by cumtime shares is an
            # estimate, but main's subtree is the whole tree and is exact.
            assert cum[_name(key)] == pytest.approx(ct * 1e9, rel=0.02), key
    stacks_of_leaf = [
        [loc.lines[0].function.name for loc in s.locations]
        for s in p.samples if s.locations[0].lines[0].function.name == "cpwork.leaf"
    ]
    assert ["cpwork.leaf", "cpwork.a", "cpwork.b", "cpwork.main"] in stacks_of_leaf


@pytest.mark.parametrize(
    "payload, message",
    [
        (marshal.dumps({("f.py", 1, "f"): "nonsense"}), "not a pstats file"),
        (b"{)\x03garbage", "marshal data is corrupt"),
    ],
)
def test_malformed_pstats(tmp_path: Path, payload: bytes, message: str) -> None:
    bad = tmp_path / "bad.prof"
    bad.write_bytes(payload)
    with pytest.raises(ProfileFormatError, match=message):
        load_any(bad)
