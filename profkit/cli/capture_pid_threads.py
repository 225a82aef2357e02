"""``profkit capture --pid PID --type threads``: every thread's stack now, via py-spy dump.

``capture_threads(pid)`` runs ``py-spy dump --json`` on the process (one snapshot; the
process is paused while it is read, unless ``nonblocking``) and returns the thread
profile in the form of our in-process one (``profkit.collect.threads.snapshot``):
sample type ``thread/count`` (Go's goroutine profile, one thread per count), one sample
per thread labelled ``thread_name`` and ``thread_id`` (kernel id), frames named as the
other ``--pid`` captures name them. ``text(entries, debug)`` gives Go's ``?debug=1``
(grouped by stack, counted, names listed) and ``?debug=2`` (every thread) forms.
asyncio tasks are not seen from outside the process: only threads.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any, List, Optional, Tuple

from profkit.collect.threadtext import TextEntry, dump, grouped
from profkit.errors import CommandError
from profkit.model import FrameKey, Profile, ProfileBuilder

DUMP_TIMEOUT_S = 60.0


def pyspy_dump(pid: int, *, nonblocking: bool = False, pyspy: Optional[str] = None) -> List[Any]:
    """Return py-spy's JSON thread dump of ``pid`` (a list, one object per thread).

    Raises:
        InputError: no such process, not a Python process.
        CommandError: py-spy missing, not permitted to attach, or failed otherwise.
    """
    from profkit.collect.pyspy import _explain_failure, check_target, find_pyspy

    check_target(pid)
    cmd = [pyspy or find_pyspy(), "dump", "--pid", str(pid), "--json", "--full-filenames"]
    if nonblocking:
        cmd.append("--nonblocking")
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=DUMP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise CommandError(f"py-spy dump did not finish within {DUMP_TIMEOUT_S:g} s") from None
    if proc.returncode != 0:
        raise CommandError(_explain_failure(pid, proc.stderr + proc.stdout, proc.returncode))
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise CommandError(
            f"py-spy dump gave no JSON thread list for PID {pid} (is py-spy older than 0.3?)"
        ) from None
    if not isinstance(data, list):
        raise CommandError(f"py-spy dump gave an unexpected answer for PID {pid}")
    return data


def _frame(f: Any) -> Tuple[FrameKey, str]:
    from profkit.collect.pyspy import frame_name

    filename = str(f.get("filename") or "")
    line = int(f.get("line") or 0)
    name = frame_name(str(f.get("name") or "?"), filename)
    return FrameKey(name, filename, line, 0), f"{filename}:{line}"


def entries(threads: List[Any]) -> List[Tuple[TextEntry, Tuple[FrameKey, ...]]]:
    """Turn py-spy's JSON threads into text entries (and their frames), main thread first."""
    out = []
    for t in threads:
        if not isinstance(t, dict):
            continue
        tid = int(t.get("os_thread_id") or t.get("thread_id") or 0)
        name = str(t.get("thread_name") or f"thread-{tid}")
        frames = [_frame(f) for f in t.get("frames") or [] if isinstance(f, dict)]
        keys = tuple(k for k, _ in frames)
        lines = tuple((k.name, where) for k, where in frames)
        out.append((TextEntry("thread", tid, name, False, lines, ()), keys))
    out.sort(key=lambda e: (e[0].name != "MainThread", e[0].thread_id))
    return out


def profile(found: List[Tuple[TextEntry, Tuple[FrameKey, ...]]], pid: int, exe: str) -> Profile:
    """Return the thread profile: one ``thread/count`` sample per thread, with labels."""
    b = ProfileBuilder(
        [("thread", "count")],
        period_type=("thread", "count"),
        period=1,
        default_sample_type="thread",
        mapping_filename=exe,
        comments=[f"profkit capture: py-spy dump of PID {pid}: {len(found)} threads"],
    )
    for e, keys in found:
        b.add(list(keys), [1], {"thread_name": e.name, "thread_id": str(e.thread_id)})
    return b.build()


def text(found: List[Tuple[TextEntry, Tuple[FrameKey, ...]]], debug: int, pid: int) -> str:
    """Return ``debug=1`` (grouped, counted) or ``debug=2`` (every thread) text."""
    items = [e for e, _ in found]
    return grouped(items, f"thread profile of PID {pid}") if debug == 1 else dump(items)
