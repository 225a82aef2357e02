"""``check_valid``: pprof's ``CheckValid`` rules, each failure one ProfileFormatError line.

``check_int64``: profile.proto's values and numeric labels are int64; profkit's are
Python ints (sums never wrap), so whatever is encoded or reported is checked here.
"""

from __future__ import annotations

from typing import Set

from profkit.model.errors import ProfileFormatError
from profkit.model.profile import Profile

__all__ = ["INT64_MAX", "INT64_MIN", "check_int64", "check_valid"]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


def check_valid(p: Profile, *, references_checked: bool = False) -> None:
    """Raise ProfileFormatError unless ``p`` obeys pprof's validity rules.

    Rules: samples need sample types; every sample has one value per type; ids of
    mappings, functions and locations are nonzero and unique per kind; every
    location a sample uses, every mapping a location uses and every function a line
    uses belongs to the profile. ``references_checked=True`` skips that last walk
    over every frame, for callers that built the references from the profile's own
    tables (the decoder does).
    """
    n = len(p.sample_types)
    if p.samples and n == 0:
        raise ProfileFormatError("missing sample type information")
    for s in p.samples:
        if len(s.values) != n:
            raise ProfileFormatError(f"mismatch: sample has {len(s.values)} values vs. {n} types")
    mapping_ids = _unique_ids("mapping", (m.id for m in p.mappings))
    function_ids = _unique_ids("function", (f.id for f in p.functions))
    location_ids = _unique_ids("location", (loc.id for loc in p.locations))
    if references_checked:
        return
    functions = {id(f) for f in p.functions}
    mappings = {id(m) for m in p.mappings}
    locations = {id(loc) for loc in p.locations}
    for loc in p.locations:
        if loc.mapping is not None and id(loc.mapping) not in mappings:
            raise ProfileFormatError(f"location {loc.id} refers to a mapping not in the profile")
        for ln in loc.lines:
            if id(ln.function) not in functions:
                raise ProfileFormatError(f"location id: {loc.id} has a line with nil function")
    for s in p.samples:
        for loc in s.locations:
            if id(loc) not in locations:
                raise ProfileFormatError("sample has nil location")
    del mapping_ids, function_ids, location_ids


def _unique_ids(kind: str, ids: object) -> Set[int]:
    seen: Set[int] = set()
    for i in ids:  # type: ignore[attr-defined]
        if i == 0:
            raise ProfileFormatError(f"found {kind} with reserved ID=0")
        if i in seen:
            raise ProfileFormatError(f"multiple {kind}s with same id: {i}")
        seen.add(i)
    return seen


def check_int64(p: Profile, what: str = "profile") -> None:
    """Raise ProfileFormatError unless every sample value and numeric label fits int64.

    The message names ``what`` (e.g. a file, or "merged profile") and the value:
    ``WHAT: sample value V (T) does not fit in 64 bits (int64 overflow; ...)``.
    """
    lo, hi = INT64_MIN, INT64_MAX
    for s in p.samples:
        if min(s.values, default=0) < lo or max(s.values, default=0) > hi:
            i, v = next((i, v) for i, v in enumerate(s.values) if not lo <= v <= hi)
            kind = p.sample_types[i] if i < len(p.sample_types) else "?"
            raise ProfileFormatError(
                f"{what}: sample value {v} ({kind}) does not fit in 64 bits "
                "(int64 overflow; profile.proto cannot hold it)"
            )
        for key, nums in s.num_labels.items():
            for v in nums:
                if not lo <= v <= hi:
                    raise ProfileFormatError(
                        f"{what}: numeric label {key}={v} does not fit in 64 bits "
                        "(int64 overflow; profile.proto cannot hold it)"
                    )
