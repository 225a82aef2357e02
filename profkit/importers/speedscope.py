"""speedscope JSON (https://www.speedscope.app/file-format-schema.json) -> Profile.

Both profile kinds are read: ``sampled`` (stacks root first, one weight each) and
``evented`` (open/close events; each interval between two events is charged to the
stack open at the time, i.e. self time). A file with several profiles (py-spy writes
one per thread) becomes one profile whose samples carry the collectors' thread labels:
py-spy's ``Thread 8929 "MainThread"`` gives ``thread_id=8929, thread_name=MainThread``
(also for a single profile), any other profile name ``thread_name=<name>``.

Sample types, from the file's ``unit``:

* time units, sampled -> ``samples/count`` + ``cpu/nanoseconds`` when the exporter is
  py-spy (it skips idle threads by default, so weights estimate on-CPU time),
  ``wall/nanoseconds`` for any other exporter;
* time units, evented (or a mix) -> ``wall/nanoseconds`` only (there are no samples);
* ``bytes`` -> ``space/bytes`` (plus ``samples/count`` if sampled);
* ``none`` -> ``samples/count`` (the weights);
* files written by profkit's own exporter name their sample type (``profkit:
  cpu/nanoseconds``), which is restored.

Duration is the longest ``endValue - startValue`` of the time-unit profiles.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from typing import Any, Dict, List, NoReturn, Optional, Tuple

from profkit.importers._common import (
    NO_FRAMES,
    check_entries,
    check_int64,
    file_time_nanos,
    finite,
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

TIME_UNITS = {"nanoseconds": 1.0, "microseconds": 1e3, "milliseconds": 1e6, "seconds": 1e9}
_PYSPY_THREAD = re.compile(r'^Thread (?P<id>\S+) "(?P<name>.*)"$')
UNLABELLED = "(unlabelled)"  # profkit's exporter: the profile of samples without a thread
_PROFKIT_NAME = re.compile(r"^profkit: (?P<type>[^/\s]+)/(?P<unit>\S+)$")


def sniff(head: bytes, path: str) -> bool:
    """Return True if ``head`` starts like a JSON object or array (the loader checks the rest).

    Any JSON is claimed, so that a JSON file that is not speedscope gets a precise error.
    """
    del path
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    after = text[1:].lstrip(b" \t\r\n")[:1]
    if text[:1] == b"[":  # not "[unknown];f 3", a collapsed stack
        return after in (b"{", b"[", b"]", b'"')
    return text[:1] == b"{" and after in (b'"', b"}")


class _Reader:
    """Checks and reads one parsed speedscope document; errors name the file."""

    def __init__(self, name: str, doc: Any) -> None:
        self.name = name
        if not isinstance(doc, dict) or not (
            "speedscope" in str(doc.get("$schema", ""))
            or ("profiles" in doc and "shared" in doc)
        ):
            raise ProfileFormatError(
                f"{name}: JSON but not a speedscope file (no speedscope \"$schema\" "
                "or \"shared\"/\"profiles\")"
            )
        self.doc = doc
        shared = doc.get("shared")
        frames = shared.get("frames") if isinstance(shared, dict) else None
        profiles = doc.get("profiles")
        if not isinstance(frames, list) or not isinstance(profiles, list):
            self.fail("\"shared.frames\" and \"profiles\" must be lists")
        if not profiles:
            self.fail("no profiles in the file")
        if not all(isinstance(p, dict) for p in profiles):
            self.fail("every entry of \"profiles\" must be an object")
        self.profiles: List[Dict[str, Any]] = profiles
        self.exporter = str(doc.get("exporter") or "")
        self.own = self.exporter.startswith("profkit")
        self.frames = [self.frame(i, f) for i, f in enumerate(frames)]

    def fail(self, what: str) -> NoReturn:
        raise ProfileFormatError(f"{self.name}: malformed speedscope file: {what}")

    def frame(self, index: int, f: Any) -> FrameKey:
        if not isinstance(f, dict) or not isinstance(f.get("name"), str):
            self.fail(f"frame {index} has no \"name\"")
        file_field, line_field = f.get("file"), f.get("line")
        filename = file_field if isinstance(file_field, str) else ""
        line = line_field if isinstance(line_field, int) and line_field > 0 else 0
        name = f["name"] if self.own else python_frame_name(f["name"], filename)
        return FrameKey(name, filename, line)

    def stack(self, indices: Any, where: str) -> List[FrameKey]:
        """Return the leaf-first stack for root-first frame ``indices``."""
        if not isinstance(indices, list):
            self.fail(f"{where}: a sample must be a list of frame indices")
        try:
            if any(i < 0 for i in indices):
                raise IndexError(indices)
            return [self.frames[i] for i in reversed(indices)] or [NO_FRAMES]
        except (IndexError, TypeError):
            self.fail(f"{where}: frame index out of range in {indices!r:.40}")

    def unit(self) -> str:
        units = {str(p.get("unit", "none")) if isinstance(p, dict) else "" for p in self.profiles}
        if len(units) != 1:
            self.fail(f"profiles use different units ({', '.join(sorted(units))})")
        unit = units.pop()
        if unit not in TIME_UNITS and unit not in ("none", "bytes"):
            self.fail(f"unknown unit {unit!r}")
        return unit


def _profile_labels(r: _Reader, profile_name: str) -> Optional[Dict[str, str]]:
    """Return the thread labels for one profile of the file (None: no labels)."""
    m = _PYSPY_THREAD.match(profile_name)
    if m is not None:
        return thread_labels(m.group("id"), m.group("name"))
    if len(r.profiles) > 1 and not (r.own and profile_name == UNLABELLED):
        return thread_labels("", profile_name)
    return None


def _sample_types(r: _Reader, unit: str, kinds: set) -> Tuple[List[Tuple[str, str]], float]:
    """Return the sample types and the factor from file units to the value's unit."""
    if r.own:
        m = _PROFKIT_NAME.match(str(r.doc.get("name", "")))
        if m is not None:
            return [(m.group("type"), m.group("unit"))], 1.0
    if unit in TIME_UNITS:
        kind = "cpu" if r.exporter.startswith("py-spy") else "wall"
        value = [(kind, "nanoseconds")]
        factor = TIME_UNITS[unit]
    elif unit == "bytes":
        value, factor = [("space", "bytes")], 1.0
    else:
        return [("samples", "count")], 1.0
    if kinds == {"sampled"}:
        return [("samples", "count")] + value, factor
    return value, factor


def _evented(r: _Reader, p: Dict[str, Any], where: str) -> List[Tuple[List[FrameKey], float]]:
    events = p.get("events")
    if not isinstance(events, list):
        r.fail(f"{where}: an evented profile needs an \"events\" list")
    out: List[Tuple[List[FrameKey], float]] = []
    open_frames: List[int] = []
    start = p.get("startValue")
    last: float = start if isinstance(start, (int, float)) else float("inf")
    for n, ev in enumerate(events):
        if not isinstance(ev, dict) or ev.get("type") not in ("O", "C"):
            r.fail(f"{where}: event {n} is not an open (O) or close (C) event")
        at, fr = ev.get("at"), ev.get("frame")
        if not isinstance(at, (int, float)) or not isinstance(fr, int):
            r.fail(f"{where}: event {n} needs numeric \"at\" and \"frame\"")
        finite(at, f"{r.name}: {where}: event {n} \"at\"")
        if not 0 <= fr < len(r.frames):
            r.fail(f"{where}: event {n} refers to missing frame {fr}")
        if open_frames and at > last:
            out.append((r.stack(open_frames, where), at - last))
        last = at if last == float("inf") else max(last, at)
        if ev["type"] == "O":
            open_frames.append(fr)
        elif not open_frames or open_frames[-1] != fr:
            r.fail(f"{where}: event {n} closes frame {fr}, which is not the innermost open frame")
        else:
            open_frames.pop()
    return out


def load(path: PathLike) -> Profile:
    """Load a speedscope JSON file (any exporter, sampled and evented profiles).

    Raises:
        ProfileFormatError: one line: invalid JSON, JSON that is not speedscope, or a
            speedscope document that breaks the schema (bad indices, unbalanced events).
    """
    name = os.fspath(path)
    try:
        text = read_text(path)
        check_entries(text, path, "frames", ",")  # bound what json.loads builds
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ProfileFormatError(
            f"{name}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    except RecursionError:
        raise ProfileFormatError(f"{name}: JSON nested too deeply") from None
    r = _Reader(name, doc)
    unit = r.unit()
    kinds = {p.get("type") for p in r.profiles}
    if not kinds <= {"sampled", "evented"}:
        r.fail(f"unknown profile type(s) {sorted(map(str, kinds - {'sampled', 'evented'}))}")
    types, factor = _sample_types(r, unit, kinds)
    counted = types[0] == ("samples", "count") and len(types) == 2
    stacks: List[Tuple[List[FrameKey], List[int], Optional[Dict[str, str]]]] = []
    weights_seen: Counter = Counter()
    duration = 0.0
    for i, p in enumerate(r.profiles):
        where = f"profile {i}"
        labels = _profile_labels(r, str(p.get("name", i)))
        if p["type"] == "sampled":
            samples, weights = p.get("samples"), p.get("weights")
            if not isinstance(samples, list) or not isinstance(weights, list):
                r.fail(f"{where}: a sampled profile needs \"samples\" and \"weights\" lists")
            if len(samples) != len(weights):
                r.fail(f"{where}: {len(samples)} samples but {len(weights)} weights")
            pairs = [(r.stack(s, where), w) for s, w in zip(samples, weights)]
            weights_seen.update(w for w in weights if isinstance(w, (int, float)))
        else:
            pairs = _evented(r, p, where)
        for stack, w in pairs:
            if not isinstance(w, (int, float)) or isinstance(w, bool):
                r.fail(f"{where}: weight {w!r:.20} is not a number")
            value = round(finite(w * factor, f"{name}: {where}: weight"))
            stacks.append((stack, [1, value] if counted else [value], labels))
        if unit in TIME_UNITS:
            start, end = p.get("startValue", 0), p.get("endValue", 0)
            if isinstance(start, (int, float)) and isinstance(end, (int, float)):
                span = (end - start) * TIME_UNITS[unit]
                if math.isfinite(span) and 0 < span < 2**62:
                    duration = max(duration, span)
    period = 0
    if weights_seen:
        common = weights_seen.most_common(1)[0][0] * factor
        period = round(common) if math.isfinite(common) and 0 < common < 2**62 else 0
    builder = ProfileBuilder(
        types, period_type=types[-1], period=max(period, 1),
        mapping_filename=os.path.basename(name),
        comments=[f"imported from speedscope ({r.exporter or 'unknown exporter'})"],
        limits=current_limits(),
    )
    for stack, values, labels in stacks:
        builder.add(stack, values, labels)
    profile = builder.build(duration_nanos=round(duration), time_nanos=file_time_nanos(path))
    check_int64(profile, name)
    check_valid(profile)
    return profile

