"""Test helper: a profile's samples as {(labels..., root-first names...): value}."""

from __future__ import annotations

from typing import Dict, Tuple

from profkit.model import Profile


def stacks(p: Profile, index: int, *, labels: bool = True) -> Dict[Tuple[str, ...], int]:
    """Return summed values per (sorted labels, then function names root first)."""
    out: Dict[Tuple[str, ...], int] = {}
    for s in p.samples:
        names = []
        for loc in reversed(s.locations):
            names.extend(ln.function.name for ln in reversed(loc.lines))
        tags = [f"{k}={v[0]}" for k, v in sorted(s.labels.items())] if labels else []
        key = tuple(tags + names)
        out[key] = out.get(key, 0) + s.values[index]
    return {k: v for k, v in out.items() if v}


def types(p: Profile) -> list:
    """Return the sample types as 'type/unit' strings."""
    return [f"{st.type}/{st.unit}" for st in p.sample_types]
