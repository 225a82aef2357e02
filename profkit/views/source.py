"""``list REGEX``: annotated source, per matching function, as ``go tool pprof -list``.

Semantics follow pprof (``internal/report.printSource``, granularity ``lines``):

* a node is a (function, file, line) of a location's lines; flat goes to the
  innermost line of a sample's leaf location, cum counts once per sample; nodes
  with zero flat and cum are dropped;
* functions whose name matches ``request.pattern`` (unanchored) are listed by
  name, each function's files by name; a function with no file name gets
  "No source information";
* a file's listing runs from the function's start line (or 5 lines above its
  first sampled line) to 5 lines below its last sampled line, read from the file
  on disk, and stops at the file's end.

File names are shown as pprof's graph reports show them (``-trim_path``,
``-source_path``, ``/proc/self/cwd`` cut: ``profkit.views.paths``) and found on
disk as pprof finds them: in ``-source_path`` (default: the current directory),
whose base name, occurring in an absolute name, cuts it (``/x/proj/a.py`` is
``a.py`` under ``.../proj``); a relative name is looked up in each search
directory and its parents; an absolute one is opened as is. Where pprof prints an error, profkit adds a note and
keeps the numbers: a file that cannot be read (the sampled lines are listed
without text), a file shorter than the sampled lines, a file modified after the
profile was taken (sampled lines past its end are listed without text), a
file over ``MAX_SOURCE_BYTES``. Linear in samples plus
frames; only locations with a matching function are walked.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from profkit.analysis.filter import compile_regex
from profkit.errors import ProfileFormatError
from profkit.report import Report
from profkit.views.paths import find_source, graph_file_namer

__all__ = ["MAX_SOURCE_BYTES", "SourceFile", "SourceLine", "SourceView", "source_from_report"]

#: Source files larger than this are not read (a note says so).
MAX_SOURCE_BYTES = 16 << 20
_MARGIN = 5

#: (function name, file, line, start line)
_Node = Tuple[str, str, int, int]


@dataclass
class SourceLine:
    """One listed line: its number, its text ("" when unreadable), flat and cum."""

    line: int
    text: str
    flat: int
    cum: int


@dataclass
class SourceFile:
    """One function in one file: its totals, its lines, and a note when the file is off.

    ``file`` is "" for a function the profile gives no file name (note says so).
    """

    name: str
    file: str
    flat: int
    cum: int
    lines: List[SourceLine] = field(default_factory=list)
    note: str = ""
    missing: bool = False

    def to_dict(self) -> Dict[str, object]:
        """Return the JSON form the viewer's source view reads."""
        return {
            "name": self.name, "file": self.file, "flat": self.flat, "cum": self.cum,
            "lines": [ln.__dict__ for ln in self.lines], "note": self.note or None,
        }


@dataclass
class SourceView:
    """The list report: per matching function and file, the annotated lines."""

    pattern: str
    files: List[SourceFile]
    sample_type: str
    sample_unit: str
    total: int

    def to_dict(self) -> Dict[str, object]:
        """Return a JSON-ready dict (values in the sample unit)."""
        return {
            "pattern": self.pattern, "sample_type": self.sample_type,
            "unit": self.sample_unit, "total": self.total,
            "functions": [f.to_dict() for f in self.files],
        }


def _node_values(r: Report, pattern: str) -> Dict[_Node, List[int]]:
    """Return node -> [flat, cum] for the nodes of functions matching ``pattern``."""
    rx = compile_regex("list", pattern)
    t, si = r.table, r.sample_index
    file_name = graph_file_namer(r.request.options.trim_path, r.request.options.source_path)
    match: Dict[str, bool] = {}
    loc_nodes: Dict[int, Tuple[_Node, ...]] = {}
    leaf_of: Dict[int, _Node] = {}  # the node flat goes to when the location is a leaf
    for lid, lines in t.loc_lines.items():
        nodes = []
        for i, (name, file, line, start) in enumerate(lines):
            ok = match.get(name)
            if ok is None:
                ok = match[name] = rx is None or rx.search(name) is not None
            if ok:
                nodes.append((name, file_name(file), line, start))
                if i == 0:
                    leaf_of[lid] = nodes[0]
        if nodes:
            loc_nodes[lid] = tuple(nodes)
    values: Dict[_Node, List[int]] = defaultdict(lambda: [0, 0])
    if not loc_nodes:
        return values
    counts: Dict[int, Counter[_Node]] = defaultdict(Counter)
    get = loc_nodes.get
    known = t.loc_lines
    for stack, vals in zip(t.stacks, t.values):
        v = vals[si]
        if not v or not stack:
            continue
        leaf = stack[0]
        if leaf not in known:
            raise ProfileFormatError("malformed profile: sample has nil location")
        got = [ns for ns in map(get, stack) if ns]
        if not got:
            continue
        counts[v].update({n for ns in got for n in ns})
        node = leaf_of.get(leaf)
        if node is not None:
            values[node][0] += v
    for v, counter in counts.items():
        for n, c in counter.items():
            values[n][1] += c * v
    return values


def _read(path: str, root: Optional[str], search: str, trim: str
          ) -> Tuple[Optional[List[str]], float, str]:
    """Return (lines, mtime, problem) of source file ``path`` (only under ``root`` if set),
    found in ``search`` after cutting ``trim`` (``paths.find_source``)."""
    where = find_source(path, search, trim)
    if where is None:
        return None, 0.0, f"source file {path} not found"
    if root is not None:
        real, top = os.path.realpath(where), os.path.realpath(root)
        if os.path.commonpath([real, top]) != top:
            return None, 0.0, f"source file {path} is outside the source root"
    try:
        st = os.stat(where)
        if st.st_size > MAX_SOURCE_BYTES:
            return None, st.st_mtime, f"source file {path} is over {MAX_SOURCE_BYTES >> 20} MiB"
        with open(where, "rb") as f:
            data = f.read(MAX_SOURCE_BYTES + 1)
    except OSError as e:
        return None, 0.0, f"source file {path} cannot be read: {e.strerror or e}"
    return data.decode("utf-8", "replace").splitlines(), st.st_mtime, ""


def _listing(name: str, file: str, nodes: Dict[_Node, List[int]], time_nanos: int,
             cache: Dict[str, Tuple[Optional[List[str]], float, str]],
             root: Optional[str], search: str, trim: str) -> SourceFile:
    flat = sum(v[0] for v in nodes.values())
    cum = sum(v[1] for v in nodes.values())
    out = SourceFile(name, file, flat, cum)
    by_line: Dict[int, List[int]] = defaultdict(lambda: [0, 0])
    for (_n, _f, line, _s), (f, c) in nodes.items():
        by_line[line][0] += f
        by_line[line][1] += c
    start = max(1, min((s if s else line - _MARGIN) for (_n, _f, line, s) in nodes))
    last = max(line for (_n, _f, line, _s) in nodes)
    end = last + _MARGIN
    if file not in cache:
        cache[file] = _read(file, root, search, trim)
    text, mtime, problem = cache[file]
    if text is None:
        out.note, out.missing = problem + "; sampled lines are shown without their text", True
        out.lines = [SourceLine(ln, "", f, c) for ln, (f, c) in sorted(by_line.items())]
        return out
    for ln in range(start, min(end, len(text)) + 1):
        f, c = by_line.get(ln, (0, 0))
        out.lines.append(SourceLine(ln, text[ln - 1], f, c))
    notes = []
    beyond = sorted(ln for ln in by_line if ln > len(text))
    out.lines.extend(SourceLine(ln, "", *by_line[ln]) for ln in beyond if ln >= start)
    if beyond:
        notes.append(f"{file} has {len(text)} lines but samples are on line "
                     f"{beyond[0]}{' and later' if len(beyond) > 1 else ''}: "
                     "the file has changed since the profile was taken")
    if time_nanos and mtime * 1e9 > time_nanos:
        when = datetime.datetime.fromtimestamp(mtime).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        notes.append(f"{file} was modified at {when}, after the profile was taken: "
                     "lines may not match")
    out.note = "; ".join(notes)
    return out


def source_from_report(r: Report, root: Optional[str] = None) -> SourceView:
    """Return the annotated source of the functions matching ``r.request.pattern``.

    ``root``: read only source files inside this directory (symlinks resolved);
    others get a note. An HTTP edge serving the report to other users should set
    it: a profile names any path it likes. The CLI reads what the user can.

    Raises InputError (one line naming the pattern) when the pattern is not a
    valid regex. A function without matches gives an empty view, not an error.
    """
    pattern, o = r.request.pattern, r.request.options
    values = _node_values(r, pattern)
    by_fn: Dict[str, Dict[str, Dict[_Node, List[int]]]] = defaultdict(lambda: defaultdict(dict))
    for node, fc in values.items():
        if fc[0] or fc[1]:
            by_fn[node[0]][node[1]][node] = fc
    files: List[SourceFile] = []
    cache: Dict[str, Tuple[Optional[List[str]], float, str]] = {}
    for name in sorted(by_fn):
        per_file = by_fn[name]
        named = sorted(f for f in per_file if f)
        if not named:
            files.append(SourceFile(name, "", 0, 0, note="no source information"))
            continue
        for file in named:
            files.append(_listing(name, file, per_file[file], r.table.time_nanos, cache, root,
                                  o.source_path, o.trim_path))
    st = r.sample_type
    return SourceView(pattern, files, st.type, st.unit, r.total)
