"""Deep copy of a profile that preserves object identity relations (ids kept)."""

from __future__ import annotations

from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType


def deep_copy(p: Profile) -> Profile:
    """Return a copy of ``p`` sharing no mutable object with it; ids are preserved."""
    fmap = {
        id(f): Function(f.id, f.name, f.system_name, f.filename, f.start_line) for f in p.functions
    }
    mmap = {
        id(m): Mapping(
            m.id, m.memory_start, m.memory_limit, m.file_offset, m.filename, m.build_id,
            m.has_functions, m.has_filenames, m.has_line_numbers, m.has_inline_frames,
        )
        for m in p.mappings
    }
    lmap = {}
    for loc in p.locations:
        lmap[id(loc)] = Location(
            loc.id,
            mmap[id(loc.mapping)] if loc.mapping is not None else None,
            loc.address,
            [Line(fmap[id(ln.function)], ln.line, ln.column) for ln in loc.lines],
            loc.is_folded,
        )
    samples = [
        Sample(
            [lmap[id(loc)] for loc in s.locations],
            list(s.values),
            {k: list(v) for k, v in s.labels.items()},
            {k: list(v) for k, v in s.num_labels.items()},
            {k: list(v) for k, v in s.num_units.items()},
        )
        for s in p.samples
    ]
    return Profile(
        sample_types=[ValueType(st.type, st.unit) for st in p.sample_types],
        samples=samples,
        mappings=list(mmap.values()),
        locations=list(lmap.values()),
        functions=list(fmap.values()),
        drop_frames=p.drop_frames,
        keep_frames=p.keep_frames,
        time_nanos=p.time_nanos,
        duration_nanos=p.duration_nanos,
        period_type=ValueType(p.period_type.type, p.period_type.unit) if p.period_type else None,
        period=p.period,
        comments=list(p.comments),
        default_sample_type=p.default_sample_type,
        doc_url=p.doc_url,
    )
