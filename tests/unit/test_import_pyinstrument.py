"""pyinstrument sessions and JSON renders, written by the real pyinstrument, imported.

Per-function totals are checked against pyinstrument's own numbers: its call tree
(``Session.load(...).root_frame()``) for sessions, the JSON render's tree for JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict

import pytest

from profkit.cli import main
from profkit.importers import detect
from profkit.importers import pyinstrument as pyi
from profkit.importers._common import python_frame_name
from profkit.model.validate import check_valid
from profkit.options import ViewOptions
from profkit.views.top import top

pyinstrument = pytest.importorskip("pyinstrument")

WORKLOAD = '''
import asyncio, time
def hot():
    s = 0
    for i in range(400000):
        s += i * i
    return s
class Worker:
    def run(self):
        return hot()
async def waits():
    await asyncio.sleep(0.05)
    hot()
def main():
    for _ in range(3):
        Worker().run()
    time.sleep(0.03)
main()
'''

ASYNC_WORKLOAD = '''
import asyncio, sys
from pyinstrument import Profiler
async def waits():
    await asyncio.sleep(0.08)
    s = 0
    for i in range(300000):
        s += i
async def main():
    p = Profiler(async_mode="enabled")
    with p:
        await waits()
    p.last_session.save(sys.argv[1])
asyncio.run(main())
'''


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Path]:
    d = tmp_path_factory.mktemp("pyi")
    (d / "work.py").write_text(WORKLOAD)
    (d / "aw.py").write_text(ASYNC_WORKLOAD)
    out = {"session": d / "run.pyisession", "json": d / "run.json", "async": d / "aw.pyisession"}
    for renderer, target in (("session", out["session"]), ("json", out["json"])):
        subprocess.run([sys.executable, "-m", "pyinstrument", "-r", renderer, "-o", str(target),
                        "work.py"], cwd=d, check=True, capture_output=True)
    subprocess.run([sys.executable, "aw.py", str(out["async"])], cwd=d, check=True)
    return out


def _rows(path: Path) -> Dict[str, Any]:
    t = top(pyi.load(path), ViewOptions(nodefraction=0))
    return {r.name: r for r in t.rows}


def _name(function: str, file: str, cls: str) -> str:
    return python_frame_name(f"{cls}.{function}" if cls else function, file)


def test_session_matches_pyinstruments_own_tree(files: Dict[str, Path]) -> None:
    from pyinstrument.session import Session

    session = Session.load(files["session"])
    flat: Dict[str, float] = defaultdict(float)
    cum: Dict[str, float] = defaultdict(float)
    todo = [session.root_frame()]
    while todo:
        f = todo.pop()
        if f is None:
            continue
        todo.extend(f.children)
        if f.identifier in ("[self]", "[await]") or not f.file_path:
            continue
        name = _name(f.function, f.file_path, f.class_name or "")
        flat[name] += f.time - sum(c.time for c in f.children if c.identifier != "[self]")
        cum[name] += f.time
    got = _rows(files["session"])
    records = len(session.frame_records)
    for fn in ("work.hot", "work.Worker.run", "work.main", "work.<module>"):
        assert got[fn].flat / 1e9 == pytest.approx(flat[fn], abs=1e-9 * records + 1e-9)
        assert got[fn].cum / 1e9 == pytest.approx(cum[fn], abs=1e-9 * records + 1e-9)
    p = pyi.load(files["session"])
    assert p.total(0) / 1e9 == pytest.approx(session.root_frame().time, abs=1e-9 * records)
    assert p.sample_types[0].type == "wall" and p.sample_types[0].unit == "nanoseconds"
    assert p.duration_nanos == round(session.duration * 1e9)
    assert {s.labels.get("thread_name", [""])[0] for s in p.samples} == {"MainThread"}
    # pyinstrument's own launcher frames (its __main__, exec, runpy) are trimmed from every
    # record that reaches the program; a record taken before or after the program (rare,
    # seen under load: compiling work.py) keeps what follows the launcher, or its last
    # frame, so its time stays counted, but a launcher frame is never a caller
    launcher = {n for n in got if "pyinstrument" in n or "runpy" in n or "<string>" in n}
    doc = json.loads(files["session"].read_text())
    outside = sum(sec for stack, sec in doc["frame_records"]
                  if not any("work.py" in s.partition("\x01")[0] for s in stack))
    assert sum(got[n].flat for n in launcher) / 1e9 <= outside + 1e-9 * records
    assert all(got[n].cum == got[n].flat for n in launcher), launcher
    roots = {s.locations[-1].lines[-1].function.name for s in p.samples}
    assert "work.<module>" in roots
    lines = {ln.line for loc in p.locations for ln in loc.lines
             if ln.function.name == "work.hot"}
    assert lines and lines <= {4, 5, 6, 7}  # current lines in the body, not the def (3)


def test_json_render_matches_its_tree(files: Dict[str, Path]) -> None:
    doc = json.loads(files["json"].read_text())
    flat: Dict[str, float] = defaultdict(float)
    todo = [doc["root_frame"]]
    while todo:
        f = todo.pop()
        todo.extend(f["children"])
        if f["function"] in ("[self]", "[await]"):
            continue
        own = f["time"] - sum(c["time"] for c in f["children"] if c["function"] != "[self]")
        flat[_name(f["function"], f["file_path"], f.get("class_name", ""))] += own
    got = _rows(files["json"])
    for fn in ("work.hot", "work.Worker.run", "work.main"):
        assert got[fn].flat / 1e9 == pytest.approx(flat[fn], abs=1e-5)
    assert got["work.<module>"].cum / 1e9 == pytest.approx(doc["root_frame"]["time"], abs=1e-5)


def test_await_time_is_its_own_frame_not_the_coroutines(files: Dict[str, Path]) -> None:
    got = _rows(files["async"])
    assert got["[await]"].flat >= 70_000_000  # the 80 ms sleep
    assert got["aw.waits"].flat < got["[await]"].flat
    assert got["aw.waits"].cum >= got["[await]"].flat + got["aw.waits"].flat
    # the stem above Profiler() is trimmed from every record that starts with it; a rare
    # record taken inside the event loop (seen under load) keeps its own stack, as
    # pyinstrument keeps it too (its _trim_stem stops at the branch)
    doc = json.loads(files["async"].read_text())
    start = [s.partition("\x01")[0] for s in doc["start_call_stack"]]
    outside = sum(round(sec * 1e9) for stack, sec in doc["frame_records"]
                  if [s.partition("\x01")[0] for s in stack[:len(start)]] != start)
    runners = max((r.cum for n, r in got.items() if n.startswith("asyncio.runners")), default=0)
    assert "aw.main" in got and runners == outside


def test_detected_by_content_and_valid(files: Dict[str, Path]) -> None:
    for key in ("session", "json", "async"):
        assert detect(files[key]).name == "pyinstrument"
        check_valid(pyi.load(files[key]))
    assert not pyi.sniff(b'{"$schema": "https://www.speedscope.app/file-format-schema.json"}', "")


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


@pytest.mark.parametrize("mutate, message", [
    (lambda t: t[: len(t) // 2], "not valid JSON"),
    (lambda t: t.replace('"frame_records": [', '"frame_records": [7, '), "frame record 0"),
    (lambda t: t.replace('"frame_records"', '"frame_recs"'), "expected \"frame_records\""),
    (lambda t: t.replace('"duration": ', '"duration": -'), "duration"),
])
def test_truncated_or_hostile_sessions_are_one_line(
    files: Dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    mutate: Any, message: str,
) -> None:
    bad = _write(tmp_path, "bad.pyisession", mutate(files["session"].read_text()))
    assert main(["top", bad]) == 1
    err = capsys.readouterr().err
    assert message in err and bad in err and err.count("\n") == 1 and "Traceback" not in err


def test_hostile_trees_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    head = '{"start_time": 1.0, "duration": 1.0, "sample_count": 1, "root_frame": '
    deep = head + '{"function": "f", "time": 1, "children": [' * 100_000 + "]}" * 100_000 + "}"
    cases = [
        (head + '{"function": "f", "time": NaN, "children": []}}', "time"),
        (head + '{"function": 3, "time": 1, "children": []}}', "function"),
        (head + '{"function": "f", "time": 1, "children": 5}}', "children"),
        (deep, "nested too deeply"),
    ]
    for i, (text, message) in enumerate(cases):
        bad = _write(tmp_path, f"bad{i}.json", text)
        assert main(["top", bad]) == 1
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err
