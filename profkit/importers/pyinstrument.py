"""pyinstrument files -> a wall-time Profile: sessions (``.pyisession``) and ``-r json`` output.

Both are JSON objects that begin with ``"start_time"`` (what ``sniff`` looks for):

* a **session** (``pyinstrument -r session``, ``Session.save``) holds the raw
  ``frame_records``: one ``[stack, seconds]`` per sample, the stack root first, each
  frame ``function\\0file\\0first line`` plus ``\\1``-separated attributes (``l<line>``
  the current line, ``c<class>`` the class). Each record becomes a sample of
  ``round(seconds * 1e9)`` wall nanoseconds on its stack, at the current line;
* a **JSON render** (``pyinstrument -r json``) holds the processed call tree
  (``root_frame``: function, file_path, line_no, time in seconds including the
  children, children). Each node's own time (its time minus its children's) becomes
  a sample on its path; lines are the functions' first lines (all the tree keeps).

Frames are named ``module.Class.function`` like profkit's collectors
(``_common.python_frame_name``). pyinstrument's synthetic frames: ``[self]`` is
dropped (its time is its parent's own time, as pprof's flat); ``[await]`` and
``[out-of-context]`` stay as leaf frames of those names, so time spent waiting is
not counted as the awaiting function's own time. A session's thread frame
(``MainThread\\0<thread>\\0id``) becomes the ``thread_name``/``thread_id`` labels,
and the stem pyinstrument trims is trimmed too: the frames above where profiling
started (``start_call_stack``) and, under the ``pyinstrument`` command, its own
``__main__``/``exec``/``runpy`` frames.

Sample type ``wall/nanoseconds`` (period: the sampling interval); duration and
start time from the file. Malformed input is one ProfileFormatError line naming
the file.
"""

from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from profkit.importers._common import (
    check_entries,
    check_int64,
    python_frame_name,
    read_text,
    thread_labels,
)
from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.codec import PathLike
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import current_limits
from profkit.model.profile import Profile
from profkit.model.validate import check_valid

__all__ = ["from_document", "load", "sniff"]

_SYNTHETIC_KEPT = ("[await]", "[out-of-context]")
_PYI_MAIN = re.compile(r".*pyinstrument[/\\]__main__\.py$")
_HEAD = re.compile(rb'^\s*\{\s*"start_time"\s*:')


def sniff(head: bytes, path: str) -> bool:
    """Return True for a JSON object that starts with ``"start_time"`` and has ``sample_count``."""
    del path
    text = head.lstrip(b"\xef\xbb\xbf")
    return _HEAD.match(text) is not None and b'"sample_count"' in text


class _Reader:
    """Checks values of one parsed document; every error names the file."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, what: str) -> ProfileFormatError:
        return ProfileFormatError(f"{self.name}: not a pyinstrument file: {what}")

    def seconds(self, value: Any, what: str, most: float = 1e9) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{what} is {value!r:.30} (expected seconds)")
        if not math.isfinite(value) or value < 0 or value > most:
            raise self.fail(f"{what} is {value} (expected 0..{most:g} seconds)")
        return float(value)

    def text(self, value: Any, what: str) -> str:
        if not isinstance(value, str):
            raise self.fail(f"{what} is {value!r:.30} (expected a string)")
        return value


def _frame_key(function: str, file: str, line: int, start: int, cls: str) -> FrameKey:
    qual = f"{cls}.{function}" if cls else function
    return FrameKey(python_frame_name(qual, file), file, line, start)


def _parse_info(info: str) -> Tuple[str, str, int, int, str]:
    """Return (function, file, line, first line, class) of a session frame string."""
    ident, _, attrs = info.partition("\x01")
    parts = ident.split("\x00")
    function = parts[0]
    file = parts[1] if len(parts) > 1 else ""
    start = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else 0
    line, cls = start, ""
    for a in attrs.split("\x01") if attrs else ():
        if a[:1] == "l" and a[1:].isdigit():
            line = int(a[1:])
        elif a[:1] == "c":
            cls = a[1:]
    return function, file, line, start, cls


def _file_of(info: str) -> str:
    parts = info.partition("\x01")[0].split("\x00")
    return parts[1] if len(parts) > 1 else ""


def _trim(stack: List[str], start_ids: Sequence[str]) -> List[str]:
    """Drop the stem pyinstrument trims (see module doc); ``stack`` is root first."""
    n = len(start_ids)
    if n and len(stack) >= n and [s.partition("\x01")[0] for s in stack[:n]] == list(start_ids):
        stack = stack[n - 1:]
    if stack and _PYI_MAIN.match(_file_of(stack[0])):
        i = 1
        while i < len(stack) - 1:
            file = _file_of(stack[i])
            if "<string>" in file or file == "<frozen runpy>" or file.endswith("runpy.py"):
                i += 1
            else:
                break
        stack = stack[i:]
    return stack


def _session(r: _Reader, doc: Dict[str, Any], b: ProfileBuilder) -> None:
    records = doc.get("frame_records")
    if not isinstance(records, list):
        raise r.fail('"frame_records" is missing or not a list')
    start = doc.get("start_call_stack") or []
    if not isinstance(start, list) or not all(isinstance(s, str) for s in start):
        raise r.fail('"start_call_stack" is not a list of strings')
    start_ids = [s.partition("\x01")[0] for s in start]
    cache: Dict[str, Optional[FrameKey]] = {}
    for i, rec in enumerate(records):
        if not isinstance(rec, list) or len(rec) != 2 or not isinstance(rec[0], list):
            raise r.fail(f"frame record {i} is not [stack, seconds]")
        stack = [r.text(f, f"frame record {i}'s frame") for f in rec[0]]
        value = round(r.seconds(rec[1], f"frame record {i}'s time") * 1e9)
        labels: Dict[str, str] = {}
        if stack and "\x00<thread>\x00" in stack[0]:
            name, _, tid = stack[0].partition("\x01")[0].split("\x00", 2)
            labels = thread_labels(tid, name)
        stack = _trim(stack, start_ids)
        if stack and "\x00<thread>\x00" in stack[0]:
            stack = stack[1:]
        frames: List[FrameKey] = []
        for info in stack:
            key = cache.get(info, False)
            if key is False:
                function, file, line, first, cls = _parse_info(info)
                if function == "[self]":
                    key = None
                elif function in _SYNTHETIC_KEPT:
                    key = FrameKey(function)
                else:
                    key = _frame_key(function, file, line, first, cls)
                cache[info] = key
            if key is not None:
                frames.append(key)  # type: ignore[arg-type]
        if frames and value:
            frames.reverse()
            b.add(frames, [value], labels or None)


def _tree(r: _Reader, doc: Dict[str, Any], b: ProfileBuilder) -> None:
    root = doc.get("root_frame")
    if root is None:
        return
    todo: List[Tuple[Any, Tuple[FrameKey, ...]]] = [(root, ())]
    while todo:
        node, parents = todo.pop()
        if not isinstance(node, dict):
            raise r.fail("a frame of root_frame is not an object")
        function = r.text(node.get("function"), "a frame's function")
        total = r.seconds(node.get("time"), f"the time of frame {function!r:.40}")
        children = node.get("children", [])
        if not isinstance(children, list):
            raise r.fail(f"the children of frame {function!r:.40} are not a list")
        if function == "[self]":
            path = parents
        elif function in _SYNTHETIC_KEPT:
            path = parents + (FrameKey(function),)
        else:
            file = node.get("file_path") or ""
            line = node.get("line_no") or 0
            cls = node.get("class_name") or ""
            if not isinstance(file, str) or not isinstance(line, int) or not isinstance(cls, str):
                raise r.fail(f"frame {function!r:.40} has a bad file_path, line_no or class_name")
            path = parents + (_frame_key(function, file, line, line, cls),)
        inner = 0.0
        for c in children:
            if isinstance(c, dict):
                inner += r.seconds(c.get("time"), "a child frame's time")
            todo.append((c, path))
        own = round(max(total - inner, 0.0) * 1e9)
        if own and path:
            b.add(list(reversed(path)), [own])


def load(path: PathLike) -> Profile:
    """Load a pyinstrument session or JSON render (see module doc); ProfileFormatError."""
    name = os.fspath(path)
    text = read_text(path)
    check_entries(text, path, "frames", ",")  # bound what json.loads builds
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProfileFormatError(
            f"{name}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno}); "
            "a pyinstrument file cut short?"
        ) from None
    except RecursionError:
        raise ProfileFormatError(f"{name}: JSON nested too deeply") from None
    return from_document(doc, name)


def from_document(doc: Any, name: str) -> Profile:
    """Convert a parsed session or JSON render (``Session.to_json()``, a loaded file) to a Profile.

    ``name`` names the source in errors and the mapping; ProfileFormatError as ``load``.
    """
    r = _Reader(name)
    if not isinstance(doc, dict) or ("frame_records" not in doc and "root_frame" not in doc):
        raise r.fail('expected "frame_records" (a session) or "root_frame" (a JSON render)')
    interval = doc.get("min_interval", 0.001)
    period = round(r.seconds(interval, "min_interval") * 1e9) if interval else 0
    b = ProfileBuilder(
        [("wall", "nanoseconds")], period_type=("wall", "nanoseconds"), period=max(period, 1),
        default_sample_type="wall", mapping_filename=os.path.basename(name),
        comments=["imported from pyinstrument (" +
                  ("session" if "frame_records" in doc else "JSON render") + ")"],
        limits=current_limits(),
    )
    if "frame_records" in doc:
        _session(r, doc, b)
    else:
        _tree(r, doc, b)
    duration = r.seconds(doc.get("duration", 0), "duration")
    start = r.seconds(doc.get("start_time"), "start_time", 1e11)
    profile = b.build(duration_nanos=round(duration * 1e9), time_nanos=round(start * 1e9))
    check_int64(profile, name)
    check_valid(profile)
    return profile
