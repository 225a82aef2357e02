"""Profiles the viewer tests open: labels, inlined frames, a diff pair, hostile names.

Each ``write_*`` builds a profile with ``ProfileBuilder`` and saves it as pprof;
the numbers are chosen so that each test can name what it expects to see.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict

from profkit.model import FrameKey, ProfileBuilder, save
from profkit.model.profile import Line

#: Names pprof leaves as they are (".<" keeps it from stripping "<...>" groups).
XSS_NAMES = (
    "app.</script><script>window.__pwned=1</script>",
    "app.<img src=x onerror=window.__pwned=2>",
    "app.<b>bold</b>&amp;\u2028line",
)

_MS = 1_000_000


def _frame(name: str, line: int = 0) -> FrameKey:
    mod = name.split(".")[0]
    return FrameKey(name, f"/srv/{mod}.py", line or 10, 1)


def write_labelled(path: Path) -> Path:
    """CPU profile, two types (samples/count, cpu/ns), labels ``route`` and ``thread``.

    /search: main → handle → search.scan 60 ms, main → handle → render 20 ms;
    /books: main → handle → db.query 30 ms (thread worker-2), render 10 ms.
    """
    b = ProfileBuilder([("samples", "count"), ("cpu", "nanoseconds")],
                       period_type=("cpu", "nanoseconds"), period=10 * _MS)
    main, handle = _frame("app.main", 5), _frame("app.handle", 20)
    scan, render, query = _frame("search.scan", 7), _frame("views.render", 3), _frame("db.query", 9)
    b.add([scan, handle, main], [6, 60 * _MS], {"route": "/search", "thread": "worker-1"})
    b.add([render, handle, main], [2, 20 * _MS], {"route": "/search", "thread": "worker-1"})
    b.add([query, handle, main], [3, 30 * _MS], {"route": "/books", "thread": "worker-2"})
    b.add([render, handle, main], [1, 10 * _MS], {"route": "/books", "thread": "worker-2"})
    save(b.build(duration_nanos=10**9), path)
    return path


def write_numeric(path: Path) -> Path:
    """Allocations with numeric labels: ``bytes`` (unit bytes) and ``tries`` (no unit).

    alloc.small: 1024 bytes (3 + 2 objects, tries 1 and 2); alloc.big: 4096 bytes (1 object).
    """
    b = ProfileBuilder([("alloc_objects", "count"), ("alloc_space", "bytes")],
                       period_type=("space", "bytes"), period=1)
    main, small, big = _frame("app.main", 5), _frame("alloc.small", 7), _frame("alloc.big", 9)
    b.add([small, main], [3, 3 * 1024], num_labels={"bytes": (1024, "bytes"), "tries": 1})
    b.add([small, main], [2, 2 * 1024], num_labels={"bytes": (1024, "bytes"), "tries": 2})
    b.add([big, main], [1, 4096], num_labels={"bytes": (4096, "bytes"), "tries": 1})
    save(b.build(duration_nanos=10**9), path)
    return path


def write_inlined(path: Path) -> Path:
    """A profile whose locations hold inlined frames and a recursive function."""
    b = ProfileBuilder([("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"), period=_MS)
    outer = b.location(FrameKey("lib.outer", "/srv/lib.py", 30, 25))
    outer.lines.insert(0, Line(b.function("lib.inlined_helper", "/srv/lib.py", 3), 4))
    rec = b.location(_frame("lib.walk", 12))
    main = b.location(_frame("app.main", 5))
    leaf = b.location(_frame("lib.leaf", 40))
    b.add_locations([outer, main], [5 * _MS])
    b.add_locations([leaf, rec, rec, rec, main], [7 * _MS])
    b.add_locations([rec, main], [2 * _MS])
    b.add_locations([outer, rec, main], [3 * _MS])
    save(b.build(duration_nanos=10**9), path)
    return path


def write_diff_pair(base_path: Path, new_path: Path) -> Dict[str, Path]:
    """Base and new CPU profiles: grown, shrunk, new-only and vanished-only frames.

    base: main→grow 10 ms, main→shrink 40 ms, main→oldpath.gone 20 ms.
    new:  main→grow 50 ms, main→shrink 10 ms, main→newpath.fresh 30 ms.
    """
    main = _frame("app.main", 5)
    rows = {
        base_path: [("calc.grow", 10), ("calc.shrink", 40), ("oldpath.gone", 20)],
        new_path: [("calc.grow", 50), ("calc.shrink", 10), ("newpath.fresh", 30)],
    }
    for path, frames in rows.items():
        b = ProfileBuilder([("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"),
                           period=10 * _MS)
        for name, ms in frames:
            b.add([_frame(name), main], [ms * _MS])
        save(b.build(duration_nanos=10**9), path)
    return {"base": base_path, "new": new_path}


def write_xss(path: Path) -> Path:
    """A profile whose function, file and label names hold HTML and script."""
    b = ProfileBuilder([("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"), period=_MS)
    main = FrameKey("app.main", "/srv/<script>alert(3)</script>.py", 1, 1)
    for i, name in enumerate(XSS_NAMES):
        b.add([FrameKey(name, "/srv/x.py", 2, 1), main], [(i + 1) * 10 * _MS],
              {"route": "<svg onload=window.__pwned=4>"})
    save(b.build(duration_nanos=10**9), path)
    return path


SOURCE = """def hot(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def cold():
    return hot(10)
"""


def write_with_source(directory: Path) -> Path:
    """A profile of ``work.hot``/``work.cold`` whose file exists: lines 3-4 hot, 9 cold."""
    src = directory / "work.py"
    src.write_text(SOURCE, encoding="utf-8")
    b = ProfileBuilder([("cpu", "nanoseconds")], period_type=("cpu", "nanoseconds"), period=_MS)
    main = FrameKey("work.main", str(src), 12, 11)
    b.add([FrameKey("work.hot", str(src), 4, 1), main], [70 * _MS])
    b.add([FrameKey("work.hot", str(src), 3, 1), main], [20 * _MS])
    b.add([FrameKey("work.hot", str(src), 4, 1), FrameKey("work.cold", str(src), 9, 8), main],
          [10 * _MS])
    path = directory / "withsource.pb.gz"
    save(b.build(duration_nanos=10**9), path)
    return path
