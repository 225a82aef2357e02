"""Units as pprof formats them (google/pprof ``internal/measurement``).

``scale(value, from_unit, to_unit)`` converts between byte and time units
(``minimum``/``auto`` pick the largest unit that keeps the value >= 1);
``scaled_label`` prints ``1.20s``, ``10ms``, ``5.50MB``; ``percentage`` prints
pprof's ``"  100%"`` / ``"72.73%"`` / ``" 0.57%"`` columns. Pure functions.
"""

from __future__ import annotations

from functools import lru_cache
from typing import List, Optional, Tuple

__all__ = ["label", "percentage", "scale", "scaled_label", "sniff_unit"]

# (canonical name, aliases, factor in the base unit)
_Unit = Tuple[str, Tuple[str, ...], float]
_UNIT_TYPES: List[Tuple[List[_Unit], _Unit]] = [
    (
        [
            ("B", ("b", "byte"), 1.0),
            ("kB", ("kb", "kbyte", "kilobyte"), float(1 << 10)),
            ("MB", ("mb", "mbyte", "megabyte"), float(1 << 20)),
            ("GB", ("gb", "gbyte", "gigabyte"), float(1 << 30)),
            ("TB", ("tb", "tbyte", "terabyte"), float(1 << 40)),
            ("PB", ("pb", "pbyte", "petabyte"), float(1 << 50)),
        ],
        ("B", ("b", "byte"), 1.0),
    ),
    (
        [
            ("ns", ("ns", "nanosecond"), 1.0),
            ("us", ("μs", "us", "microsecond"), 1e3),
            ("ms", ("ms", "millisecond"), 1e6),
            ("s", ("s", "sec", "second"), 1e9),
            ("hrs", ("hour", "hr"), 3600e9),
        ],
        ("s", (), 1e9),
    ),
]


@lru_cache(maxsize=512)
def sniff_unit(unit: str) -> Optional[Tuple[int, _Unit]]:
    """Return (unit type index, unit) for a unit name or alias ("nanoseconds", "kb").

    Cached: every value a report prints asks again for the same few units."""
    u = unit.lower()
    if len(u) > 2 and u.endswith("s"):
        u = u[:-1]
    for ti, (units, _default) in enumerate(_UNIT_TYPES):
        for entry in units:
            if u in entry[1]:
                return ti, entry
    return None


def _auto(value: float, units: List[_Unit]) -> Optional[Tuple[float, str]]:
    best = 0.0
    name = ""
    for canon, _aliases, factor in units:
        if factor >= best and value / factor >= 1.0:
            best, name = factor, canon
    if best == 0.0:
        return None
    return value / best, name


def scale(value: int, from_unit: str, to_unit: str) -> Tuple[float, str]:
    """Return ``value`` (in ``from_unit``) expressed in ``to_unit`` and that unit's name."""
    if value < 0:
        v, u = scale(-value, from_unit, to_unit)
        return -v, u
    found = sniff_unit(from_unit)
    if found is not None:
        ti, (_c, _a, factor) = found
        units, default = _UNIT_TYPES[ti]
        base = float(value) * factor
        if to_unit in ("minimum", "auto"):
            got = _auto(base, units)
            if got is not None:
                return got
            return base / default[2], default[0]
        target = sniff_unit(to_unit)
        if target is None or target[0] != ti:
            return base / default[2], default[0]
        return base / target[1][2], target[1][0]
    if to_unit in ("count", "sample", "unit", "minimum", "auto"):
        return float(value), ""
    return float(value), to_unit


def scaled_label(value: int, from_unit: str, to_unit: str) -> str:
    """Return ``value`` scaled to ``to_unit`` with 2 decimals, ``.00`` trimmed: ``1.20s``."""
    v, u = scale(value, from_unit, to_unit)
    sv = f"{v:.2f}"
    if sv.endswith(".00"):
        sv = sv[:-3]
    if sv in ("0", "-0"):
        return "0"
    return sv + u


def label(value: int, unit: str) -> str:
    """Return ``value`` in the most readable unit (pprof's ``measurement.Label``)."""
    return scaled_label(value, unit, "auto")


def percentage(value: int, total: int) -> str:
    """Return |value|/total as pprof's 6-wide percentage column."""
    ratio = abs(value / total) * 100 if total else 0.0
    if 99.95 <= ratio <= 100.05:
        return "  100%"
    if ratio >= 1.0:
        return f"{ratio:5.2f}%"
    return f"{ratio:5.2g}%"
