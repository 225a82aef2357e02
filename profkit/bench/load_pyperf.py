"""Read pyperf JSON (``pyperf ... -o FILE.json``, optionally gzip'd as ``.json.gz``).

Each benchmark's raw samples are the ``values`` of all its runs (warm-ups and calibration runs are
left out), in pyperf's unit (``second`` becomes ``s``). The name comes from the benchmark's metadata,
falling back to the suite's.
"""

from __future__ import annotations

from typing import Any, Dict, List

from profkit.bench.samples import BenchResult, BenchRun, Summary
from profkit.errors import InputError

FORMAT = "pyperf"

_UNITS = {"second": "s", "byte": "B", "integer": "count"}


def looks_like(doc: Any) -> bool:
    """Return True when a parsed JSON document has pyperf's shape."""
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        return False
    benches = doc["benchmarks"]
    return bool(benches) and all(isinstance(b, dict) and "runs" in b for b in benches)


def parse_doc(doc: Dict[str, Any], path: str) -> BenchRun:
    """Turn a parsed pyperf document into a ``BenchRun``.

    Raises:
        InputError: a value is not numeric, or a benchmark has no name.
    """
    meta_doc = doc.get("metadata")
    common: Dict[str, Any] = meta_doc if isinstance(meta_doc, dict) else {}
    results: List[BenchResult] = []
    for i, bench in enumerate(doc["benchmarks"]):
        meta = dict(common)
        if isinstance(bench.get("metadata"), dict):
            meta.update(bench["metadata"])
        name = meta.get("name")
        if not isinstance(name, str) or not name:
            raise InputError(f"{path}: pyperf benchmark #{i} has no name in its metadata")
        values: List[float] = []
        for run in bench.get("runs") or []:
            run_values = run.get("values") if isinstance(run, dict) else None
            if not run_values:
                continue  # calibration run: warm-ups only
            try:
                values.extend(float(v) for v in run_values)
            except (TypeError, ValueError):
                raise InputError(f"{path}: benchmark {name!r} has non-numeric values") from None
        unit = _UNITS.get(str(meta.get("unit", "second")), str(meta.get("unit")))
        summary = Summary.of(values) if values else None
        results.append(BenchResult(name=name, unit=unit, values=values, summary=summary))
    return BenchRun(
        path=path,
        format=FORMAT,
        results=results,
        datetime=str(common.get("date")) if common.get("date") else None,
        commit=str(common.get("commit_id")) if common.get("commit_id") else None,
        machine={k: str(common[k]) for k in ("hostname", "cpu_model_name", "python_version", "platform")
                 if k in common},
    )
