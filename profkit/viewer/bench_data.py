"""The benchmark view's model: a pytest-benchmark store read once into trends and a comparison.

``load_store(DIR, base=, new=)`` reads every run under DIR (``bench.load``), builds the trend
per benchmark with its change points (``bench.history``) and compares two runs (``bench.verdict``):
the last two by time, or the runs named by ``base``/``new`` (a file path, file name, stem, or the
autosave number such as ``0003``). For each slower benchmark whose two runs recorded profiles
(``pytest --profkit-profile``), ``BenchStore.diffs[i]`` holds ``(name, base, new)`` one-call
profiles (``bench.profiles.per_call_profile``): in-memory sources for the report layer.
``BenchStore.doc`` is what the page draws (names as they are; the page sets them as text).

Raises ``InputError`` for a store with no runs or a run name that matches none or several.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from profkit.bench.samples import BenchRun
from profkit.errors import InputError, ProfkitError
from profkit.model import Profile

__all__ = ["BenchStore", "load_store", "pick_run", "run_label"]


@dataclass
class BenchStore:
    """What ``profkit view --bench`` shows: ``doc`` (JSON-able) and the regressions' profiles."""

    doc: Dict[str, Any]
    diffs: List[Tuple[str, Profile, Profile]] = field(default_factory=list)


def run_label(run: BenchRun) -> str:
    """Return the run's file stem (``0003_<commit>_<date>``), the name users pass to --base/--new."""
    return Path(run.path).name.removesuffix(".json")


def pick_run(runs: Sequence[BenchRun], spec: str) -> BenchRun:
    """Return the one run ``spec`` names (path, file name, stem, or autosave number prefix)."""
    def matches(run: BenchRun) -> bool:
        label = run_label(run)
        return spec in (run.path, os.path.basename(run.path), label) or label.startswith(spec + "_")

    found = [r for r in runs if matches(r)]
    if len(found) == 1:
        return found[0]
    shown = ", ".join(run_label(r) for r in runs[-3:])
    what = "matches no run" if not found else f"matches {len(found)} runs"
    raise InputError(f"run {spec!r} {what} in the store; runs look like: {shown}")


def _series_doc(history: Sequence[Any]) -> List[Dict[str, Any]]:
    return [{"name": s.name, "unit": s.unit,
             "x": [p.time or p.index for p in s.points], "y": [p.median for p in s.points],
             "commits": [p.commit or "" for p in s.points],
             "change_points": [{"position": c.position, "change": c.change, "p": c.p,
                                "before": c.before, "after": c.after} for c in s.change_points]}
            for s in history]


def _profiles(base: BenchRun, new: BenchRun, name: str) -> Tuple[Optional[Tuple[Profile, Profile]], str]:
    from profkit.bench.profiles import per_call_profile

    try:
        b, n = per_call_profile([base], name), per_call_profile([new], name)
    except ProfkitError as e:
        return None, f"profile unreadable: {e}"
    if b is None or n is None:
        return None, "no profile recorded" if b is None and n is None else \
            f"no profile recorded on the {'base' if b is None else 'new'} side"
    return (b, n), ""


def compare_runs(base: BenchRun, new: BenchRun) -> Tuple[Dict[str, Any], List[Tuple[str, Profile, Profile]]]:
    """Return (the compare table's doc, the slower benchmarks' per-call profile pairs)."""
    from profkit.bench import report
    from profkit.bench.runs import machine_note
    from profkit.bench.samples import pool
    from profkit.bench.verdict import SLOWER, compare

    comparison = compare(pool([base]), pool([new]))
    note = machine_note([base], [new])
    if note:
        comparison.notes.append(note)
    rows: List[Dict[str, Any]] = []
    diffs: List[Tuple[str, Profile, Profile]] = []
    for row in comparison.rows:
        entry = {"name": row.name, "base": report.format_side(row.base, row.unit),
                 "new": report.format_side(row.new, row.unit), "change": report.format_change(row),
                 "verdict": row.verdict, "note": row.note, "flame": None, "profile_note": ""}
        if row.verdict == SLOWER:
            pair, why = _profiles(base, new, row.name)
            if pair is None:
                entry["profile_note"] = why
            else:
                entry["flame"] = f"diff/{len(diffs)}/"
                diffs.append((row.name, pair[0], pair[1]))
        rows.append(entry)
    doc = {"base": run_label(base), "new": run_label(new), "rows": rows,
           "notes": list(comparison.notes)}
    return doc, diffs


def load_store(directory: str, base: Optional[str] = None, new: Optional[str] = None) -> BenchStore:
    """Read the store at ``directory`` (see module doc)."""
    from profkit.bench.history import build_history
    from profkit.bench.load import check_one_measure, load_runs
    from profkit.bench.runs import ordered

    if not os.path.isdir(directory):
        raise InputError(f"--bench {directory}: not a directory (give a pytest-benchmark store "
                         "such as .benchmarks/)")
    runs = ordered(load_runs([directory]))
    if not runs:
        raise InputError(f"--bench {directory}: no benchmark runs found")
    check_one_measure(runs)
    history = build_history(runs)
    doc: Dict[str, Any] = {"store": directory, "runs": len(runs), "series": _series_doc(history),
                           "compare": None}
    diffs: List[Tuple[str, Profile, Profile]] = []
    if base is not None or new is not None or len(runs) >= 2:
        b = pick_run(runs, base) if base is not None else runs[-2]
        n = pick_run(runs, new) if new is not None else runs[-1]
        doc["compare"], diffs = compare_runs(b, n)
    return BenchStore(doc, diffs)
