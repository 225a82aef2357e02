"""Text forms of a thread profile, shared by the in-process snapshot and ``capture --pid``.

- ``grouped(entries)``: Go's ``?debug=1``: one block per distinct (stack, labels), with
  the number of threads and tasks on it, the most common first. Task labels (which are
  unique per task) do not split groups: a group lists the names of its tasks (and of
  its threads) on a ``# tasks:`` / ``# threads:`` line, in natural order (``w-2`` before
  ``w-10``), the first ``MAX_NAMES`` of them.
- ``dump(entries)``: Go's ``?debug=2``: every thread and task with its full stack.

Entries carry their frames already resolved to ``(function, "file:line")``, leaf first.
"""

from __future__ import annotations

import re
from typing import Dict, List, NamedTuple, Sequence, Tuple

__all__ = ["MAX_NAMES", "TextEntry", "dump", "grouped"]

MAX_NAMES = 10

FrameLine = Tuple[str, str]
Labels = Tuple[Tuple[str, str], ...]


class TextEntry(NamedTuple):
    """One thread or asyncio task, ready to print."""

    kind: str  # "thread" or "task"
    thread_id: int  # kernel thread id (for a task: its event loop's thread)
    name: str
    daemon: bool
    frames: Tuple[FrameLine, ...]  # leaf first
    labels: Labels  # the user's labels; a task's own name is not one of them


def summary(entries: Sequence[TextEntry]) -> str:
    """Return ``"N threads, M asyncio tasks"``."""
    threads = sum(1 for e in entries if e.kind == "thread")
    return f"{threads} threads, {len(entries) - threads} asyncio tasks"


def _natural(name: str) -> List[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _names(kind: str, names: List[str]) -> str:
    names = sorted(names, key=lambda n: [(isinstance(p, int), p) for p in _natural(n)])
    shown = ", ".join(names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return f"# {kind}: {shown}" + (f", ... (+{more} more)" if more > 0 else "")


def grouped(entries: Sequence[TextEntry], title: str = "thread profile") -> str:
    """Return the ``debug=1`` text: entries grouped by stack and labels, counted."""
    groups: Dict[Tuple[Tuple[FrameLine, ...], Labels], List[TextEntry]] = {}
    for e in entries:
        groups.setdefault((e.frames, e.labels), []).append(e)
    out = [f"{title}: total {len(entries)} ({summary(entries)})"]
    for (frames, labels), members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        tags = " ".join(f'{k}="{v}"' for k, v in labels)
        out.append(f"{len(members)} @" + (f" labels {{{tags}}}" if tags else ""))
        for kind, plural in (("thread", "threads"), ("task", "tasks")):
            names = [m.name for m in members if m.kind == kind]
            if names:
                out.append(_names(plural, names))
        out.extend(f"#\t{name}\t{where}" for name, where in frames)
        out.append("")
    return "\n".join(out)


def dump(entries: Sequence[TextEntry]) -> str:
    """Return the ``debug=2`` text: every thread and task with its full stack."""
    out: List[str] = []
    for e in entries:
        if e.kind == "thread":
            flags = ", daemon" if e.daemon else ""
            out.append(f'thread {e.thread_id} "{e.name}"{flags}:')
        else:
            out.append(f'task "{e.name}" (event loop on thread {e.thread_id}):')
        for name, where in e.frames:
            out.append(f"{name}()")
            out.append(f"\t{where}")
        out.append("")
    return "\n".join(out)
