"""Read Go's benchmark text format (``go test -bench . -count 10`` output), like benchstat.

Each ``BenchmarkName-N  iterations  value unit [value unit ...]`` line is one sample per unit.
The ``-N`` (GOMAXPROCS) suffix is dropped from the name; ``ns/op`` values become seconds (unit
``s``) so they compare with Python timings; other units are kept as written. Throughput units
(``.../s``) and units declared ``Unit X better=higher`` are marked higher-is-better. When one file
holds several packages (``pkg:`` lines), names are qualified with the package.
"""

from __future__ import annotations

import re
from typing import Dict, List, Set, Tuple

from profkit.bench.samples import BenchResult, BenchRun, Summary
from profkit.errors import InputError

FORMAT = "go"

_LINE = re.compile(r"^(Benchmark[^\s]*)\s+(\d+)\s+(.+)$")
_PROCS = re.compile(r"-\d+$")
_CONFIG = re.compile(r"^([a-z][^\s:]*):\s*(.*)$")
_UNIT_META = re.compile(r"^Unit\s+(\S+)\s+(.*)$")


def looks_like(text: str) -> bool:
    """Return True when ``text`` contains at least one Go benchmark result line."""
    return any(_LINE.match(line) for line in text.splitlines())


def parse_text(text: str, path: str) -> BenchRun:
    """Parse Go benchmark output into a ``BenchRun`` (one raw sample per result line).

    Raises:
        InputError: a result line has an odd value/unit list or a non-numeric value.
    """
    samples: Dict[Tuple[str, str], List[float]] = {}
    better_higher: Set[str] = set()
    pkgs: List[str] = []
    config: Dict[str, str] = {}
    pkg = ""
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.rstrip()
        m = _UNIT_META.match(line)
        if m:
            if "better=higher" in m.group(2):
                better_higher.add(m.group(1))
            continue
        m = _CONFIG.match(line)
        if m:
            config[m.group(1)] = m.group(2)
            if m.group(1) == "pkg":
                pkg = m.group(2)
                if pkg not in pkgs:
                    pkgs.append(pkg)
            continue
        m = _LINE.match(line)
        if not m:
            continue
        name = _PROCS.sub("", m.group(1))
        fields = m.group(3).split()
        if len(fields) % 2:
            raise InputError(f"{path}:{lineno}: malformed benchmark line (values and units must pair up)")
        for value_text, unit in zip(fields[::2], fields[1::2]):
            try:
                value = float(value_text)
            except ValueError:
                raise InputError(f"{path}:{lineno}: {value_text!r} is not a number") from None
            if unit == "ns/op":
                value, unit = value * 1e-9, "s"
            samples.setdefault((f"{pkg}\0{name}", unit), []).append(value)
    qualify = len(pkgs) > 1
    results = []
    for (qual, unit), values in samples.items():
        pkg_name, name = qual.split("\0", 1)
        shown = f"{pkg_name}/{name}" if qualify and pkg_name else name
        higher = unit in better_higher or unit.endswith("/s")
        results.append(BenchResult(shown, unit, values, Summary.of(values), higher_is_better=higher))
    machine = {k: v for k, v in config.items() if k in ("goos", "goarch", "cpu")}
    return BenchRun(path=path, format=FORMAT, results=results, commit=config.get("commit"), machine=machine)
