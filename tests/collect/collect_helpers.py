"""Small readers over Profile objects used by the collector tests."""

from __future__ import annotations

from collections import Counter
from typing import Dict

from profkit.model import Profile


def by_label(p: Profile, key: str, index: int = 1) -> Dict[str, int]:
    """Sum value ``index`` per value of string label ``key``."""
    out: Counter[str] = Counter()
    for s in p.samples:
        for v in s.labels.get(key, ["(none)"]):
            out[v] += s.values[index]
    return dict(out)


def flat_by_function(p: Profile, index: int = 1) -> Dict[str, int]:
    """Sum value ``index`` per leaf function name."""
    out: Counter[str] = Counter()
    for s in p.samples:
        if s.locations:
            out[s.locations[0].lines[-1].function.name] += s.values[index]
    return dict(out)


def cum_by_function(p: Profile, index: int = 1) -> Dict[str, int]:
    """Sum value ``index`` per function anywhere on the stack (once per sample)."""
    out: Counter[str] = Counter()
    for s in p.samples:
        for name in {loc.lines[-1].function.name for loc in s.locations}:
            out[name] += s.values[index]
    return dict(out)
