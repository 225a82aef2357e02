"""Open benchmark result files of any supported format by sniffing their content.

Supported: pytest-benchmark JSON (with or without raw ``data``), pyperf JSON (plain or gzip'd) and
Go's benchmark text format. A directory argument stands for every ``*.json`` / ``*.json.gz`` /
``*.txt`` file below it, in name order (pytest-benchmark's ``.benchmarks/<machine>/`` layout).
"""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path
from typing import List, Optional, Sequence, Union

from profkit.bench import load_gotext, load_pyperf, load_pytest
from profkit.bench.samples import BenchRun
from profkit.errors import InputError

PathArg = Union[str, "os.PathLike[str]"]

_MAX_BYTES = 512 * 1024 * 1024
_DIR_SUFFIXES = (".json", ".json.gz", ".txt", ".bench")


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as f:
                data = f.read(_MAX_BYTES + 1)
        except (OSError, EOFError) as e:
            raise InputError(f"{path}: corrupt gzip data ({e})") from None
        if len(data) > _MAX_BYTES:
            raise InputError(f"{path}: decompresses to more than {_MAX_BYTES >> 20} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(
            f"{path}: binary data, not benchmark results (expected pytest-benchmark JSON, "
            "pyperf JSON or Go benchmark text)"
        ) from None


def load_run(path: PathArg) -> BenchRun:
    """Load one result file into a ``BenchRun``.

    Raises:
        InputError: the file is missing, unreadable, malformed JSON, JSON of another tool, or
            holds no benchmarks; the message names the file and what was expected.
    """
    p = Path(path)
    text = _read_text(p)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"{p}: not valid JSON ({e.msg} at line {e.lineno} column {e.colno})") from None
        if load_pytest.looks_like(doc):
            run = load_pytest.parse_doc(doc, str(p))
        elif load_pyperf.looks_like(doc):
            run = load_pyperf.parse_doc(doc, str(p))
        else:
            keys = ", ".join(sorted(doc)[:6]) if isinstance(doc, dict) else type(doc).__name__
            raise InputError(
                f"{p}: JSON, but not pytest-benchmark or pyperf results (top level: {keys}); "
                "write it with pytest --benchmark-json, --benchmark-autosave or pyperf -o"
            )
    elif load_gotext.looks_like(text):
        run = load_gotext.parse_text(text, str(p))
    else:
        raise InputError(
            f"{p}: not benchmark results (expected pytest-benchmark JSON, pyperf JSON or "
            "Go `go test -bench` output)"
        )
    if not run.results:
        raise InputError(f"{p}: contains no benchmarks (did every benchmark error or get skipped?)")
    return run


def expand(paths: Sequence[PathArg]) -> List[Path]:
    """Expand directories into the result files below them (sorted); files pass through.

    Raises:
        InputError: a directory holds no result files.
    """
    out: List[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(_DIR_SUFFIXES))
            if not found:
                raise InputError(f"{p}: directory holds no *.json / *.txt benchmark results")
            out.extend(found)
        else:
            out.append(p)
    return out


def load_runs(paths: Sequence[PathArg]) -> List[BenchRun]:
    """Load every file named (directories expanded); see ``load_run`` for errors."""
    return [load_run(p) for p in expand(paths)]


def measure(run: BenchRun) -> str:
    """Return what a run measured: ``"instructions"`` (callgrind counts) or ``"time"``.

    Raises:
        InputError: one file mixes instruction counts and timings.
    """
    kinds = {"instructions" if r.unit == "instructions" else "time" for r in run.results}
    if len(kinds) > 1:
        raise InputError(f"{run.path}: mixes instruction counts and timings in one file")
    return kinds.pop() if kinds else "time"


def check_one_measure(runs: Sequence[BenchRun]) -> str:
    """Return the measure all runs share; never mix seconds and instructions.

    Raises:
        InputError: a run measured something else than the first; the line names both files.
    """
    first: Optional[BenchRun] = None
    kind = "time"
    for run in runs:
        this = measure(run)
        if first is None:
            first, kind = run, this
        elif this != kind:
            what = {"time": "timings (seconds)", "instructions": "instruction counts "
                    "(pytest --profkit-instructions)"}
            raise InputError(f"{run.path} holds {what[this]} but {first.path} holds {what[kind]}: "
                             "never compare seconds with instructions; give runs of one mode")
    return kind
