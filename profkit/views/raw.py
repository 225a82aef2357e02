"""The profile as go's pprof holds it after reading, for the ``raw`` report.

Go 1.19's ``go tool pprof`` "massages" the mappings of every profile it parses
(adjacent ranges of one file merged, the main binary moved first, ids from 1)
and then merges every input, even a single one (``profile.Merge``), which drops
all-zero samples, sums equal samples, numbers locations by first use and drops
unused locations and mappings. What comes after (the profile's own drop_frames,
tagroot/tagleaf pseudo frames appended after every location, hide/show/show_from
cutting lines) removes no location: ``-raw`` lists them all. ``pprof_order``
computes that order for a filtered profile without modifying it; for ``raw`` the
report driver has already merged the samples (``Report.loaded``).
"""

from __future__ import annotations

import re
from itertools import chain
from typing import Dict, List, Optional, Sequence, Tuple

from profkit.analysis.sample_merge import labels_key
from profkit.analysis.stacks import StackTable
from profkit.model.profile import Location, Mapping, Profile, Sample

__all__ = ["label_frame_ids", "massage_mappings", "pprof_order"]

_LIB = re.compile(r"([.]so$|[.]so[._][0-9]+)")


def _adjacent(a: Mapping, b: Mapping) -> bool:
    if a.filename and b.filename and a.filename != b.filename:
        return False
    if a.build_id and b.build_id and a.build_id != b.build_id:
        return False
    if a.memory_limit != b.memory_start:
        return False
    if a.file_offset and b.file_offset:
        return a.file_offset + (a.memory_limit - a.memory_start) == b.file_offset
    return True


def massage_mappings(mappings: List[Mapping]) -> Tuple[List[Mapping], Dict[int, int]]:
    """Return pprof's massaged ``mappings`` (new objects) and id(original) -> 1-based position."""
    merged: List[Mapping] = []
    into: Dict[int, int] = {}  # id(original) -> index in merged
    for m in mappings:
        if merged and _adjacent(merged[-1], m):
            last = merged[-1]
            last.memory_limit = m.memory_limit
            last.filename = m.filename or last.filename
            last.build_id = m.build_id or last.build_id
            into[id(m)] = len(merged) - 1
            continue
        into[id(m)] = len(merged)
        merged.append(Mapping(**{k: getattr(m, k) for k in m.__dataclass_fields__}))
    order = list(range(len(merged)))
    for i, m in enumerate(merged):
        file = m.filename.replace("(deleted)", "").strip()
        if not file or _LIB.search(file) or file.startswith("["):
            continue
        order[0], order[i] = order[i], order[0]
        break
    out = [merged[i] for i in order]
    position = {orig: pos for pos, orig in enumerate(order)}
    new_ids: Dict[int, int] = {}
    for m in mappings:
        new_ids[id(m)] = position[into[id(m)]] + 1
    return out, new_ids


def _labels_key(s: Sample) -> Tuple[object, ...]:
    return labels_key(s.labels, s.num_labels, s.num_units)


def label_frame_ids(loaded: Optional[StackTable], table: StackTable) -> List[int]:
    """Return the ids of the tagroot/tagleaf pseudo frames of ``table`` (built from
    ``loaded``, the report's ``loaded``): its locations ``loaded`` lacks, in the order
    pprof creates them (``add_label_frames`` numbers them so); none without ``loaded``."""
    if loaded is None:
        return []
    return sorted(set(table.loc_lines).difference(loaded.loc_lines))


def pprof_order(
    p: Profile, order_of: Optional[StackTable] = None, merge_equal: bool = True,
    kept_ids: Optional[Sequence[Sequence[int]]] = None, frames: Sequence[int] = (),
) -> Tuple[List[Sample], List[Sequence[int]], List[Location], List[Mapping], Dict[int, int],
           Dict[int, int]]:
    """Return ``p`` as go's pprof holds it after reading: (samples, their location ids,
    locations, mappings, location id -> new id, id(mapping) -> new id).

    ``kept_ids``, when given, are the location ids of ``p.samples`` (saves a pass).

    Go 1.19's pprof merges every input, even a single one (``profile.Merge``): all-
    zero samples go, equal samples (stack and labels) are summed into the first,
    locations are numbered by first use in the merged samples (``order_of``: the
    report's ``loaded`` table, or its unfiltered one, whose ids are ``p``'s), unused
    locations and mappings go, and the main mapping stays first. Nothing removes a
    location after that: the raw report lists each one even when no sample is left
    using it (drop_frames, filters), with the lines the filters left (none: only
    its address). The tagroot/tagleaf pseudo frames (``frames``) come last, as pprof
    appends them. pprof sums equal samples *before* anything changes stacks: pass
    ``merge_equal=False`` when the samples were merged then (the report's ``loaded``)
    or when hide/show were applied (samples equal only after hiding stay apart).
    """
    massaged, massaged_ids = massage_mappings(p.mappings)
    by_id = {loc.id: loc for loc in p.locations}
    if order_of is not None:
        stacks, values = order_of.stacks, order_of.values
    else:
        stacks = [[loc.id for loc in s.locations] for s in p.samples]
        values = [s.values for s in p.samples]
    first_use = dict.fromkeys(chain.from_iterable(
        stack for stack, vals in zip(stacks, values) if any(vals)))
    first_use.update(dict.fromkeys(frames))
    for lid in frames:  # a pseudo frame the Profile left out: its one line was hidden
        if lid not in by_id:
            by_id[lid] = Location(lid, None, 0, [])
    if kept_ids is None:
        kept_ids = [[loc.id for loc in smp.locations] for smp in p.samples]
    first_use.update(dict.fromkeys(chain.from_iterable(kept_ids)))  # ids the order missed
    locations = [by_id[lid] for lid in first_use if lid in by_id]
    new_loc = {loc.id: i + 1 for i, loc in enumerate(locations)}
    order: List[int] = [0] if massaged else []
    used = dict.fromkeys(
        massaged_ids[id(loc.mapping)] - 1 for loc in locations if loc.mapping is not None)
    order.extend(m for m in used if m not in order[:1])
    mappings = [massaged[i] for i in order]
    position = {m: pos + 1 for pos, m in enumerate(order)}
    new_map = {key: position.get(mid - 1, mid) for key, mid in massaged_ids.items()}
    samples: List[Sample] = []
    sample_ids: List[Sequence[int]] = []
    seen: Dict[Tuple[object, ...], int] = {}
    for smp, ids in zip(p.samples, kept_ids):
        if not any(smp.values):
            continue
        if not merge_equal:
            samples.append(smp)
            sample_ids.append(ids)
            continue
        key = (tuple(ids), _labels_key(smp) if smp.labels or smp.num_labels else ())
        at = seen.get(key)
        if at is None:
            seen[key] = len(samples)
            samples.append(smp)
            sample_ids.append(ids)
        else:
            first = samples[at]
            samples[at] = Sample(first.locations, [a + b for a, b in zip(first.values, smp.values)],
                                 first.labels, first.num_labels, first.num_units)
    return samples, sample_ids, locations, mappings, new_loc, new_map
