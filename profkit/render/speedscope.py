"""Export a profile as a speedscope JSON file (https://www.speedscope.app/file-format-schema.json).

Frames are shared (one entry per function: name, file, first line); each thread
(``thread_id`` / ``thread_name`` labels) gets its own ``sampled`` profile, named like
py-spy's (``Thread 8929 "MainThread"``); samples without them form one more, named
``(unlabelled)``. So speedscope shows threads separately. Each distinct stack is one sample whose weight is the summed value of
the chosen sample type; zero values are left out. Units: ``nanoseconds`` and
``bytes`` map to themselves, ``microseconds``/``milliseconds``/``seconds`` too,
anything else (counts) to ``none``. The file's ``name`` is ``profkit: TYPE/UNIT``,
from which profkit's importer restores the sample type on the way back.
"""

from __future__ import annotations

import json
from typing import Dict, List, Tuple

from profkit.model.profile import Function, Location, Profile
from profkit.render.collapsed import location_names, thread_of

SCHEMA = "https://www.speedscope.app/file-format-schema.json"
#: Name of the profile holding samples without a ``thread`` label.
UNLABELLED = "(unlabelled)"
_UNITS = {"nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"}
FrameId = Tuple[str, str, int]


def _frame_keys(loc: Location) -> List[FrameId]:
    """Return (name, file, start line) per frame at ``loc``, caller first."""
    if not loc.lines:
        return [(location_names(loc)[0], "", 0)]
    out = []
    for ln in reversed(loc.lines):
        fn: Function = ln.function
        out.append((fn.name or "(unknown)", fn.filename, fn.start_line or 0))
    return out


def render(profile: Profile, sample_index: int) -> str:
    """Return ``profile``'s values at ``sample_index`` as speedscope JSON text.

    ``profile`` is not modified. Raises IndexError if ``sample_index`` is out of range.
    """
    if not 0 <= sample_index < len(profile.sample_types):
        raise IndexError(f"sample index {sample_index} out of range")
    vt = profile.sample_types[sample_index]
    unit = vt.unit if vt.unit in _UNITS else "none"
    frame_index: Dict[FrameId, int] = {}
    frames: List[Dict[str, object]] = []
    loc_cache: Dict[int, List[int]] = {}
    # thread -> stack (root first, frame indices) -> weight
    threads: Dict[str, Dict[Tuple[int, ...], int]] = {}

    def loc_frames(loc: Location) -> List[int]:
        got = loc_cache.get(id(loc))
        if got is None:
            got = []
            for key in _frame_keys(loc):
                i = frame_index.get(key)
                if i is None:
                    i = frame_index[key] = len(frames)
                    entry: Dict[str, object] = {"name": key[0]}
                    if key[1]:
                        entry["file"] = key[1]
                    if key[2]:
                        entry["line"] = key[2]
                    frames.append(entry)
                got.append(i)
            loc_cache[id(loc)] = got
        return got

    for s in profile.samples:
        value = s.values[sample_index]
        if value == 0:
            continue
        stack: List[int] = []
        for loc in reversed(s.locations):
            stack.extend(loc_frames(loc))
        tid, tname = thread_of(s)
        thread = f'Thread {tid} "{tname}"' if tid else tname
        per_stack = threads.setdefault(thread, {})
        per_stack[tuple(stack)] = per_stack.get(tuple(stack), 0) + value

    if not threads:
        threads[""] = {}
    profiles = []
    for thread in sorted(threads):
        stacks = sorted(threads[thread].items())
        weights = [w for _, w in stacks]
        profiles.append({
            "type": "sampled",
            "name": thread or UNLABELLED,
            "unit": unit,
            "startValue": 0,
            "endValue": sum(abs(w) for w in weights),
            "samples": [list(k) for k, _ in stacks],
            "weights": weights,
        })
    doc = {
        "$schema": SCHEMA,
        "shared": {"frames": frames},
        "profiles": profiles,
        "name": f"profkit: {vt.type}/{vt.unit}",
        "activeProfileIndex": 0,
        "exporter": "profkit",
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
