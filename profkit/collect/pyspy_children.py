"""The children of a ``capture --pid`` target: which processes py-spy's subprocess mode sampled.

py-spy's ``--subprocesses`` samples every Python descendant of the PID (it finds new
ones as they start) and names each speedscope profile ``Process <pid> Thread <tid>
"<name>"``; it does not say which processes it attached to, nor that one exited.
``TreeWatch(pid)`` polls ``/proc`` (every ``POLL_SECONDS``, in a thread, while py-spy
runs) and records each Python descendant's parent and the first and last time it was
seen. ``label_processes`` then

* (``thread_names_only``) turns py-spy's profile names into the ``Thread T "name"``
  form the speedscope importer labels, keeping which process each thread is in;
* when the capture covered more than one process, labels every sample ``pid`` and the
  samples of the PID's direct children (the workers of a gunicorn or uvicorn master)
  ``worker`` 1..N in pid order, as the URL capture labels them
  (``profkit.endpoints.workers``); the PID itself, multiprocessing's helper processes
  (resource tracker, forkserver) and deeper descendants carry ``pid`` only;
* adds the comment ``processes sampled: K (PID P and N workers ...)`` and one comment
  per process that started or exited during the capture, naming it.

A process that starts and exits between two polls is seen only if py-spy sampled it.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Optional, Set

from profkit.model import Profile

POLL_SECONDS = 0.2
_PROCESS_THREAD = re.compile(r'^Process (?P<pid>\d+) Thread (?P<tid>\d+) "(?P<name>.*)"$')
_HELPERS = ("multiprocessing.resource_tracker", "multiprocessing.forkserver")


@dataclass
class Seen:
    """One descendant of the target: its parent and when it was seen (s since the start)."""

    pid: int
    ppid: int
    first: float
    last: float
    helper: bool = False  # multiprocessing's resource tracker or forkserver, not a worker
    gone: bool = False  # seen, then no longer running while py-spy ran


def _stat(pid: int) -> Optional[tuple]:
    """Return (ppid, state) of ``pid`` from /proc, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()  # the command name may hold spaces
    return (int(fields[1]), fields[0]) if len(fields) > 1 else None


def _is_python(pid: int) -> bool:
    try:
        exe = os.path.basename(os.readlink(f"/proc/{pid}/exe")).lower()
    except OSError:
        return False
    if "python" in exe:
        return True
    try:
        with open(f"/proc/{pid}/maps", encoding="utf-8", errors="replace") as f:
            return "libpython" in f.read()
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def descendants(pid: int) -> Dict[int, int]:
    """Return ``{child pid: parent pid}`` for every live descendant of ``pid`` (zombies left out)."""
    parents: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None and st[1] not in ("Z", "X"):
                parents[int(entry)] = st[0]
    found: Dict[int, int] = {}
    frontier = {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier and c not in found}
        found.update({c: parents[c] for c in frontier})
    return found


@dataclass
class TreeWatch:
    """Poll the Python descendants of ``pid`` while a capture runs (``with TreeWatch(pid):``)."""

    pid: int
    seen: Dict[int, Seen] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None
    _not_python: Set[int] = field(default_factory=set)

    def __enter__(self) -> TreeWatch:
        self._started = time.monotonic()
        self.poll()
        self._thread = threading.Thread(target=self._run, name="profkit-pyspy-tree", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()

    def _run(self) -> None:
        while not self._stop.wait(POLL_SECONDS):
            self.poll()

    def poll(self) -> None:
        """Record the descendants running now; mark those seen before and gone now."""
        now = time.monotonic() - self._started
        live = descendants(self.pid)
        for pid, ppid in live.items():
            if pid in self._not_python:
                continue
            if pid not in self.seen:
                if not _is_python(pid):
                    self._not_python.add(pid)
                    continue
                helper = any(h in _cmdline(pid) for h in _HELPERS)
                self.seen[pid] = Seen(pid, ppid, now, now, helper)
            self.seen[pid].last = now
        for s in self.seen.values():
            if s.pid not in live:
                s.gone = True


def thread_names_only(speedscope_path: str) -> Dict[str, int]:
    """Rename py-spy's ``Process P Thread T "name"`` profiles to ``Thread T "name"`` in place.

    The importer (``profkit.importers.speedscope``) reads that form into ``thread_id``
    and ``thread_name`` labels; returns ``{thread id: pid}`` for ``label_processes``
    (thread ids are unique across processes while they run).
    """
    with open(speedscope_path, encoding="utf-8") as f:
        doc = json.load(f)
    owner: Dict[str, int] = {}
    for prof in doc.get("profiles") or []:
        m = _PROCESS_THREAD.match(str(prof.get("name", ""))) if isinstance(prof, dict) else None
        if m is not None:
            owner[m.group("tid")] = int(m.group("pid"))
            prof["name"] = f'Thread {m.group("tid")} "{m.group("name")}"'
    if owner:
        with open(speedscope_path, "w", encoding="utf-8") as f:
            json.dump(doc, f)
    return owner


def label_processes(p: Profile, root: int, watch: TreeWatch, owner: Dict[str, int],
                    seconds: float) -> None:
    """Label ``p``'s samples by process and say which processes it covers (module doc).

    ``owner`` maps thread ids to pids (``thread_names_only``); ``seconds`` is the window
    asked. Modifies ``p``.
    """
    in_output = set(owner.values())
    for pid in in_output - set(watch.seen) - {root}:  # sampled, but between two polls
        watch.seen[pid] = Seen(pid, root, 0.0, 0.0, gone=_stat(pid) is None)
    if not watch.seen:  # one process: labels as before
        p.comments.append(f"processes sampled: 1 (PID {root}; it had no Python children)")
        return
    workers = sorted(pid for pid, s in watch.seen.items() if s.ppid == root and not s.helper)
    number = {pid: str(i) for i, pid in enumerate(workers, 1)}
    for sample in p.samples:
        pid = owner.get((sample.labels.get("thread_id") or [""])[0], root)
        sample.labels["pid"] = [str(pid)]
        if pid in number:
            sample.labels["worker"] = [number[pid]]
    helpers = sum(1 for s in watch.seen.values() if s.ppid == root and s.helper)
    deeper = len(watch.seen) - len(workers) - helpers
    what = f"PID {root} and {_count(len(workers), 'worker')}"
    if helpers:
        what += f", {_count(helpers, 'multiprocessing helper')}"
    if deeper:
        what += f", {_count(deeper, 'deeper descendant')}"
    p.comments.append(f"processes sampled: {len(watch.seen) + 1} ({what})")
    for pid in sorted(watch.seen):
        seen = watch.seen[pid]
        name = f"pid {pid}" + (f" (worker {number[pid]})" if pid in number else "")
        if seen.first > POLL_SECONDS * 1.5:
            p.comments.append(f"{name} started {seen.first:.1f} s into the capture")
        if seen.gone:
            p.comments.append(f"{name} exited during the capture, after {seen.last:.1f} s "
                              f"of the {seconds:g} s; its samples up to then are included")


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"
