"""Read pytest-benchmark JSON (``--benchmark-json``, ``--benchmark-save``/``--benchmark-autosave``).

Benchmarks are matched by ``fullname``. ``stats.data`` (one value per round: round duration /
iterations, in seconds) is used when present; files saved without ``--benchmark-save-data`` hold only
summary statistics, which are kept as a ``Summary`` so the comparison can say so. Runs of
``pytest --profkit-instructions`` hold instruction counts instead of seconds: their benchmarks carry
``extra_info["profkit_unit"] = "instructions"`` and get that unit.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional

from profkit.bench.samples import BenchResult, BenchRun, Summary
from profkit.errors import InputError

FORMAT = "pytest-benchmark"
#: The unit of runs written by ``pytest --profkit-instructions`` (``extra_info["profkit_unit"]``).
INSTRUCTIONS = "instructions"


def looks_like(doc: Any) -> bool:
    """Return True when a parsed JSON document has pytest-benchmark's shape."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        return False
    if "machine_info" in doc or "commit_info" in doc:
        return True
    return any(isinstance(b, dict) and "stats" in b for b in doc["benchmarks"])


def _float(stats: Mapping[str, Any], key: str, path: str, name: str) -> float:
    value = stats.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{path}: benchmark {name!r} has no numeric stats.{key}; is the file complete?")
    return float(value)


def _summary(stats: Mapping[str, Any], path: str, name: str) -> Optional[Summary]:
    rounds = stats.get("rounds")
    if not isinstance(rounds, int) or rounds <= 0:
        return None
    opt = {k: stats.get(k) for k in ("q1", "q3")}
    return Summary(
        n=rounds,
        median=_float(stats, "median", path, name),
        mean=_float(stats, "mean", path, name),
        stddev=float(stats.get("stddev") or 0.0),
        min=_float(stats, "min", path, name),
        max=_float(stats, "max", path, name),
        q1=float(opt["q1"]) if isinstance(opt["q1"], (int, float)) else None,
        q3=float(opt["q3"]) if isinstance(opt["q3"], (int, float)) else None,
    )


def parse_doc(doc: Dict[str, Any], path: str) -> BenchRun:
    """Turn a parsed pytest-benchmark document into a ``BenchRun``.

    Raises:
        InputError: a benchmark entry lacks a name or its stats (one line naming the file).
    """
    results: List[BenchResult] = []
    for i, bench in enumerate(doc["benchmarks"]):
        if not isinstance(bench, dict):
            raise InputError(f"{path}: benchmarks[{i}] is not an object")
        name = bench.get("fullname") or bench.get("name")
        stats = bench.get("stats")
        if not isinstance(name, str) or not isinstance(stats, dict):
            raise InputError(f"{path}: benchmarks[{i}] has no name or no stats")
        data = stats.get("data")
        values: List[float] = []
        if isinstance(data, list):
            try:
                values = [float(v) for v in data]
            except (TypeError, ValueError):
                raise InputError(f"{path}: benchmark {name!r} has non-numeric stats.data") from None
        summary = Summary.of(values) if values else _summary(stats, path, name)
        extra = bench.get("extra_info")
        extra = extra if isinstance(extra, dict) else {}
        unit = INSTRUCTIONS if extra.get("profkit_unit") == INSTRUCTIONS else "s"
        results.append(BenchResult(name=name, unit=unit, values=values, summary=summary, extra=extra))
    commit = doc.get("commit_info") or {}
    machine = doc.get("machine_info") or {}
    return BenchRun(
        path=path,
        format=FORMAT,
        results=results,
        datetime=doc.get("datetime") if isinstance(doc.get("datetime"), str) else None,
        commit=str(commit.get("id")) if isinstance(commit, dict) and commit.get("id") else None,
        branch=str(commit.get("branch")) if isinstance(commit, dict) and commit.get("branch") else None,
        machine={k: str(v) for k, v in machine.items() if isinstance(v, (str, int, float))}
        if isinstance(machine, dict)
        else {},
    )
