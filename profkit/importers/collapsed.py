"""Collapsed ("folded") stacks: Brendan Gregg's ``a;b;c 12`` and py-spy's ``raw`` output.

One line per stack, frames root first, separated by ``;``, then whitespace and an
integer count. Frames may be plain names or py-spy's ``name (file:line)``; Python
frames get module-qualified names (see ``_common``). Root pseudo-frames that
py-spy writes with ``--threads`` (``thread (24874): worker-1``, or ``thread (24874)``
when the name is unknown) become ``thread_id`` / ``thread_name`` labels, as profkit's
collectors write them; ``--subprocesses``' ``process 123:"cmd"`` becomes ``process``. Blank lines and lines
starting with ``#`` are ignored; a line with only a count (py-spy writes one for a
sample taken while no Python frame ran) is charged to a frame ``(no frames)``.

Sample types: ``samples/count`` (the counts); with a known sampling rate also
``cpu/nanoseconds`` = count x 1e9/rate (py-spy's default skips idle threads, so
its samples estimate on-CPU time). The format records no duration (left 0).
"""

from __future__ import annotations

import os
import re
from typing import Dict, List, Optional, Tuple

from profkit.importers._common import (
    NO_FRAMES,
    check_entries,
    check_int64,
    file_time_nanos,
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

_LINE = re.compile(r"^(?:(?P<stack>.*?)\s+)?(?P<count>[-+]?\d+)\s*$")
_FRAME = re.compile(r"^(?P<name>.+?) \((?P<file>[^()]+?)(?::(?P<line>\d+))?\)$")
_THREAD = re.compile(r"^thread \((?P<id>[^()]*)\)(?:: (?P<name>.*))?$")
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f]")
_PROCESS = re.compile(r"^process (?P<pid>\d+)(?::(?P<cmd>.*))?$")


def sniff(head: bytes, path: str) -> bool:
    """Return True if the first stack line of ``head`` is ``frames count``."""
    del path
    if _CONTROL.search(head):
        return False
    text = head.decode("utf-8", errors="ignore")
    lines = text.splitlines()
    if len(head) >= 4096 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    for line in lines:
        if not line.strip() or line.startswith("#"):
            continue
        return _LINE.match(line) is not None
    return False


def _frame(text: str, cache: Dict[str, FrameKey]) -> FrameKey:
    key = cache.get(text)
    if key is None:
        m = _FRAME.match(text)
        if m is not None:
            filename = m.group("file")
            line = int(m.group("line") or 0)
            key = FrameKey(python_frame_name(m.group("name"), filename), filename, line)
        else:
            key = FrameKey(python_frame_name(text, ""))
        cache[text] = key
    return key


def _split_labels(frames: List[str]) -> Tuple[List[str], Dict[str, str]]:
    labels: Dict[str, str] = {}
    while frames:
        m = _PROCESS.match(frames[0])
        if m is not None and "process" not in labels:
            labels["process"] = m.group("pid")
            frames = frames[1:]
            continue
        m = _THREAD.match(frames[0])
        if m is not None and "thread_id" not in labels and "thread_name" not in labels:
            labels.update(thread_labels(m.group("id"), m.group("name") or ""))
            frames = frames[1:]
            continue
        break
    return frames, labels


def load(path: PathLike, *, rate_hz: Optional[float] = None) -> Profile:
    """Load a collapsed-stacks file.

    Args:
        path: the file (plain or gzip'd UTF-8 text).
        rate_hz: the sampling rate, if known; adds ``cpu/nanoseconds`` values.

    Raises:
        ProfileFormatError: one line naming the file and line, e.g. a line without a
            count, or a file with no stacks at all.
    """
    name = os.fspath(path)
    if rate_hz is not None and not rate_hz > 0:
        raise ProfileFormatError(f"sampling rate must be positive, got {rate_hz}")
    period_ns = round(1e9 / rate_hz) if rate_hz else 0
    types = [("samples", "count")] + ([("cpu", "nanoseconds")] if period_ns else [])
    builder = ProfileBuilder(
        types,
        period_type=("cpu", "nanoseconds") if period_ns else ("samples", "count"),
        period=period_ns or 1,
        mapping_filename=os.path.basename(name),
        limits=current_limits(),
    )
    cache: Dict[str, FrameKey] = {}
    rows: List[Tuple[List[FrameKey], List[int], Dict[str, str]]] = []
    thread_names: Dict[str, str] = {}
    text = read_text(path)
    check_entries(text, path, "samples", "\n")  # one line per stack: bound the split
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        m = _LINE.match(line)
        if m is None:
            shown = line if len(line) <= 60 else line[:57] + "..."
            raise ProfileFormatError(
                f"{name}:{lineno}: collapsed-stack line has no sample count "
                f"(expected 'frame;frame;... COUNT'): {shown!r}"
            )
        count = int(m.group("count"))
        frames, labels = _split_labels([f for f in (m.group("stack") or "").split(";") if f])
        stack = [_frame(f, cache) for f in reversed(frames)] or [NO_FRAMES]
        values = [count, count * period_ns] if period_ns else [count]
        rows.append((stack, values, labels))
        if "thread_name" in labels and "thread_id" in labels:
            thread_names.setdefault(labels["thread_id"], labels["thread_name"])
    if not rows:
        raise ProfileFormatError(f"{name}: no stacks found in collapsed-stack file")
    for stack, values, labels in rows:
        # py-spy learns a thread's name only once ``threading`` knows it: name early samples too
        tid = labels.get("thread_id")
        if tid in thread_names and "thread_name" not in labels:
            labels["thread_name"] = thread_names[tid]
        builder.add(stack, values, labels or None)
    profile = builder.build(time_nanos=file_time_nanos(path))
    check_int64(profile, name)
    check_valid(profile)
    return profile
