"""``merge`` and ``compact``: pprof's ``profile.Merge`` on profkit's model.

In: a non-empty sequence of compatible profiles (same ``period_type``, same
``sample_types`` in the same order). Out: a new profile; the inputs are never
modified and share no object with the result.

Semantics (google/pprof ``profile/merge.go``):

* headers: ``time_nanos`` = earliest nonzero, ``duration_nanos`` = sum, ``period`` =
  max, comments de-duplicated in first-seen order, ``default_sample_type`` and
  ``doc_url`` from the first profile that sets them, ``drop_frames`` /
  ``keep_frames`` / ``period_type`` / ``sample_types`` from the first profile;
* objects are de-duplicated by pprof's keys: functions by (name, system_name,
  filename, start_line); mappings by (size rounded up to 4 KiB, file offset,
  build id or else file name); locations by (address relative to the mapping
  start, mapping, lines (function, line, column), is_folded); samples by (mapped
  location ids, sorted string labels, sorted numeric labels with their units);
* samples with equal keys are summed; all-zero samples are dropped, and only
  objects reachable from kept samples (plus the first mapping) are kept;
* ids are renumbered 1..n in first-use order.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from profkit.model.errors import IncompatibleProfilesError
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType

_U64 = 1 << 64
_MAP_ROUNDING = 0x1000

__all__ = ["check_compatible", "compact", "merge"]


def _types_text(types: Sequence[ValueType]) -> str:
    return "[" + " ".join(str(t) for t in types) + "]"


def _vt_equal(a: Optional[ValueType], b: Optional[ValueType]) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.type == b.type and a.unit == b.unit


def check_compatible(a: Profile, b: Profile) -> None:
    """Raise IncompatibleProfilesError unless ``b`` can be merged into ``a``.

    The messages are pprof's: ``incompatible period types X and Y`` and
    ``incompatible sample types [..] and [..]``.
    """
    if not _vt_equal(a.period_type, b.period_type):
        raise IncompatibleProfilesError(
            f"incompatible period types {a.period_type} and {b.period_type}"
        )
    if len(a.sample_types) != len(b.sample_types) or not all(
        _vt_equal(x, y) for x, y in zip(a.sample_types, b.sample_types)
    ):
        raise IncompatibleProfilesError(
            f"incompatible sample types {_types_text(a.sample_types)} and "
            f"{_types_text(b.sample_types)}"
        )


def _combine_headers(srcs: Sequence[Profile]) -> Profile:
    first = srcs[0]
    for other in srcs[1:]:
        check_compatible(first, other)
    time_nanos = 0
    duration = 0
    period = 0
    comments: List[str] = []
    seen_comments: set = set()
    default_type = ""
    doc_url = ""
    for s in srcs:
        if s.time_nanos and (time_nanos == 0 or s.time_nanos < time_nanos):
            time_nanos = s.time_nanos
        duration += s.duration_nanos
        period = max(period, s.period)
        for c in s.comments:
            if c not in seen_comments:
                seen_comments.add(c)
                comments.append(c)
        default_type = default_type or s.default_sample_type
        doc_url = doc_url or s.doc_url
    pt = first.period_type
    return Profile(
        sample_types=[ValueType(t.type, t.unit) for t in first.sample_types],
        drop_frames=first.drop_frames,
        keep_frames=first.keep_frames,
        time_nanos=time_nanos,
        duration_nanos=duration,
        period_type=ValueType(pt.type, pt.unit) if pt is not None else None,
        period=period,
        comments=comments,
        default_sample_type=default_type,
        doc_url=doc_url,
    )


def _mapping_key(m: Mapping) -> Tuple[int, int, str]:
    size = (m.memory_limit - m.memory_start) % _U64
    size = (size + _MAP_ROUNDING - 1) % _U64
    size -= size % _MAP_ROUNDING
    return (size, m.file_offset, m.build_id or m.filename)


class _Merger:
    """State of one merge: the result and the de-duplication tables."""

    def __init__(self, out: Profile) -> None:
        self.out = out
        self.samples: Dict[tuple, Sample] = {}
        self.locations: Dict[tuple, Location] = {}
        self.functions: Dict[Tuple[str, str, str, int], Function] = {}
        self.mappings: Dict[Tuple[int, int, str], Mapping] = {}
        # Per-source tables, keyed by the source object's identity.
        self.loc_by_src: Dict[int, Location] = {}
        self.fn_by_src: Dict[int, Function] = {}
        self.map_by_src: Dict[int, Tuple[Mapping, int]] = {}

    def start_source(self) -> None:
        self.loc_by_src = {}
        self.fn_by_src = {}
        self.map_by_src = {}

    def mapping(self, src: Mapping) -> Tuple[Mapping, int]:
        got = self.map_by_src.get(id(src))
        if got is not None:
            return got
        key = _mapping_key(src)
        m = self.mappings.get(key)
        if m is not None:
            info = (m, m.memory_start - src.memory_start)
        else:
            m = Mapping(
                len(self.out.mappings) + 1, src.memory_start, src.memory_limit,
                src.file_offset, src.filename, src.build_id, src.has_functions,
                src.has_filenames, src.has_line_numbers, src.has_inline_frames,
            )
            self.out.mappings.append(m)
            self.mappings[key] = m
            info = (m, 0)
        self.map_by_src[id(src)] = info
        return info

    def function(self, src: Function) -> Function:
        f = self.fn_by_src.get(id(src))
        if f is not None:
            return f
        key = (src.name, src.system_name, src.filename, src.start_line)
        f = self.functions.get(key)
        if f is None:
            f = Function(
                len(self.out.functions) + 1, src.name, src.system_name, src.filename,
                src.start_line,
            )
            self.out.functions.append(f)
            self.functions[key] = f
        self.fn_by_src[id(src)] = f
        return f

    def location(self, src: Location) -> Location:
        loc = self.loc_by_src.get(id(src))
        if loc is not None:
            return loc
        mapping: Optional[Mapping] = None
        address = src.address
        rel = address
        map_id = 0
        if src.mapping is not None:
            mapping, offset = self.mapping(src.mapping)
            address = (address + offset) % _U64
            rel = (address - mapping.memory_start) % _U64
            map_id = mapping.id
        lines = [Line(self.function(ln.function), ln.line, ln.column) for ln in src.lines]
        key = (
            rel, map_id, src.is_folded,
            tuple((ln.function.id, ln.line, ln.column) for ln in lines),
        )
        loc = self.locations.get(key)
        if loc is None:
            loc = Location(len(self.out.locations) + 1, mapping, address, lines, src.is_folded)
            self.out.locations.append(loc)
            self.locations[key] = loc
        self.loc_by_src[id(src)] = loc
        return loc

    def sample(self, src: Sample) -> None:
        locs = [self.location(loc) for loc in src.locations]
        key: tuple = (tuple(loc.id for loc in locs),)
        if src.labels:
            key += (tuple(sorted((k, tuple(v)) for k, v in src.labels.items())),)
        else:
            key += ((),)
        if src.num_labels:
            units = src.num_units
            key += (
                tuple(sorted(
                    (k, tuple(v), tuple(units.get(k, ()))) for k, v in src.num_labels.items()
                )),
            )
        got = self.samples.get(key)
        if got is not None:
            vals = got.values
            for i, v in enumerate(src.values):
                vals[i] += v
            return
        s = Sample(
            locs, list(src.values),
            {k: list(v) for k, v in src.labels.items()},
            {k: list(v) for k, v in src.num_labels.items()},
            {k: list(v) for k, v in src.num_units.items()},
        )
        self.samples[key] = s
        self.out.samples.append(s)


def merge(profiles: Sequence[Profile]) -> Profile:
    """Merge compatible profiles into a new one, with pprof's ``Merge`` semantics.

    Args:
        profiles: one or more profiles; none of them is modified.

    Returns:
        A new profile sharing no object with the inputs; ids renumbered from 1.

    Raises:
        ValueError: ``profiles`` is empty.
        IncompatibleProfilesError: period or sample types differ (pprof's messages).
    """
    srcs = list(profiles)
    if not srcs:
        raise ValueError("no profiles to merge")
    out = _combine_headers(srcs)
    m = _Merger(out)
    for src in srcs:
        m.start_source()
        if not out.mappings and src.mappings:
            m.mapping(src.mappings[0])  # the first mapping stays the main binary
        for s in src.samples:
            if any(s.values):
                m.sample(s)
    if any(not any(s.values) for s in out.samples):
        return merge([out])  # values cancelled out: drop them and their objects
    return out


def compact(p: Profile) -> Profile:
    """Return ``merge([p])``: duplicates folded, zero samples and unused objects dropped."""
    return merge([p])
