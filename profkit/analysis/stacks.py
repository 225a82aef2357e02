"""``StackTable``: the flat, id-based form reports are computed from.

A StackTable holds, per location id, the lines (display name, file, line, start
line; innermost first, as in ``Location.lines``) and the mapping file; per sample,
the location ids (leaf first), the values and whether it is a diff-base sample
(label ``pprof::base``). Labels are kept only when asked for (tag filters).

It is built either from a ``Profile`` (``from_profile``) or straight from the
decoded protobuf message (``from_message``), which skips building Python objects
for every sample: that is what keeps ``profkit top`` on a 20k-sample profile
faster than ``go tool pprof -top``. Both builders validate what they use and raise
ProfileFormatError with one line. A StackTable is never modified after building;
filters return new ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from operator import attrgetter
from typing import Any, Dict, List, Optional, Sequence, Tuple

from profkit.analysis.names import display_name
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import current_limits
from profkit.model.profile import Profile, ValueType

__all__ = ["LineInfo", "StackTable", "from_message", "from_profile"]

#: (display name, file name, line number, function start line)
LineInfo = Tuple[str, str, int, int]
Labels = Dict[str, List[str]]
NumLabels = Dict[str, List[int]]

_BASE = "pprof::base"


@dataclass
class StackTable:
    """Samples as location-id stacks plus per-location line info (see module doc)."""

    sample_types: List[ValueType]
    loc_lines: Dict[int, Tuple[LineInfo, ...]]
    loc_mapfile: Dict[int, str]
    stacks: List[Sequence[int]]
    values: List[Sequence[int]]
    base: List[bool]
    labels: Optional[List[Labels]] = None
    num_labels: Optional[List[NumLabels]] = None
    num_units: Optional[List[Dict[str, List[str]]]] = None
    default_sample_type: str = ""
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: List[str] = field(default_factory=list)
    main_file: str = ""
    main_build_id: str = ""
    #: the decoded message ``from_message`` read (its location ids are the table's),
    #: kept for reports that read more of it (raw, callgrind); None otherwise
    message: Any = field(default=None, compare=False, repr=False)
    #: location id -> its address, for locations whose address is not 0 (the
    #: ``addresses`` granularity); a location of no entry has address 0
    loc_address: Dict[int, int] = field(default_factory=dict)

    def sample_index(self, name: str | int | None) -> int:
        """Resolve a sample type name or index like ``Profile.sample_index`` (KeyError)."""
        probe = Profile(sample_types=self.sample_types, default_sample_type=self.default_sample_type)
        return probe.sample_index(name)

    def with_samples(
        self, keep: Sequence[int], stacks: Optional[List[Sequence[int]]] = None
    ) -> StackTable:
        """Return a table with only the samples at indexes ``keep`` (optionally new stacks)."""

        def pick(xs: Optional[List[Any]]) -> Optional[List[Any]]:
            return None if xs is None else [xs[i] for i in keep]

        return StackTable(
            self.sample_types, self.loc_lines, self.loc_mapfile,
            stacks if stacks is not None else [self.stacks[i] for i in keep],
            [self.values[i] for i in keep], [self.base[i] for i in keep],
            pick(self.labels), pick(self.num_labels), pick(self.num_units),
            self.default_sample_type, self.time_nanos, self.duration_nanos,
            self.comments, self.main_file, self.main_build_id, self.message,
            self.loc_address,
        )


def from_profile(p: Profile, *, with_labels: bool = True) -> StackTable:
    """Return the StackTable of ``p`` (not modified; location ids must be unique)."""
    loc_lines: Dict[int, Tuple[LineInfo, ...]] = {}
    loc_mapfile: Dict[int, str] = {}
    for loc in p.locations:
        loc_lines[loc.id] = tuple(
            (
                display_name(ln.function.name, ln.function.system_name),
                ln.function.filename, ln.line, ln.function.start_line,
            )
            for ln in loc.lines
        )
        loc_mapfile[loc.id] = loc.mapping.filename if loc.mapping is not None else ""
    samples = p.samples
    main = p.mappings[0] if p.mappings else None
    return StackTable(
        sample_types=list(p.sample_types),
        loc_lines=loc_lines,
        loc_mapfile=loc_mapfile,
        stacks=[[loc.id for loc in s.locations] for s in samples],
        values=[s.values for s in samples],
        base=["true" in s.labels.get(_BASE, ()) for s in samples],
        labels=[s.labels for s in samples] if with_labels else None,
        num_labels=[s.num_labels for s in samples] if with_labels else None,
        num_units=[s.num_units for s in samples] if with_labels else None,
        default_sample_type=p.default_sample_type,
        time_nanos=p.time_nanos,
        duration_nanos=p.duration_nanos,
        comments=list(p.comments),
        main_file=main.filename if main else "",
        main_build_id=main.build_id if main else "",
        loc_address={loc.id: loc.address for loc in p.locations if loc.address},
    )


def _bad(msg: str) -> ProfileFormatError:
    return ProfileFormatError(f"malformed profile: {msg}")


#: (key, str, num_unit) of a label: the string indexes every label carries.
_LABEL_STRINGS = attrgetter("key", "str", "num_unit")
_LABELS = attrgetter("label")


def from_message(msg: Any, *, with_labels: bool = False) -> StackTable:
    """Return the StackTable of a decoded ``profile.proto`` message.

    Checks what a valid profile must satisfy, as ``codec.parse`` and go's pprof do:
    every string index the message holds (sample/period types, mappings, functions,
    label keys, values and units, comments, drop/keep frames, default sample type,
    doc URL) whether used here or not, ids, value counts and location references
    (those when the stacks are walked); raises ProfileFormatError with one line, and
    LimitError if the message holds more than ``profkit.model.limits`` allows.
    """
    current_limits().check_message(msg)  # profkit.model.limits: decoders check them too
    st = msg.string_table
    nstr = len(st)
    if nstr and st[0] != "":
        raise _bad("string_table[0] must be ''")

    def s(i: int) -> str:
        if 0 <= i < nstr:
            return st[i]  # type: ignore[no-any-return]
        raise _bad(f"string index {i} out of range (table has {nstr} entries)")

    sample_types = [ValueType(s(v.type), s(v.unit)) for v in msg.sample_type]
    ntypes = len(sample_types)
    if msg.HasField("period_type"):
        s(msg.period_type.type)
        s(msg.period_type.unit)
    s(msg.drop_frames)
    s(msg.keep_frames)
    s(msg.doc_url)
    mapfiles: Dict[int, str] = {}
    main_file = main_build = ""
    for i, m in enumerate(msg.mapping):
        if m.id == 0 or m.id in mapfiles:
            raise _bad(f"mapping id {m.id} is reserved or repeated")
        mapfiles[m.id] = s(m.filename)
        build_id = s(m.build_id)
        if i == 0:
            main_file, main_build = mapfiles[m.id], build_id
    funcs: Dict[int, Tuple[str, str, int]] = {}
    for f in msg.function:
        if f.id == 0 or f.id in funcs:
            raise _bad(f"function id {f.id} is reserved or repeated")
        funcs[f.id] = (display_name(s(f.name), s(f.system_name)), s(f.filename), f.start_line)
    loc_lines: Dict[int, Tuple[LineInfo, ...]] = {}
    loc_mapfile: Dict[int, str] = {}
    loc_address: Dict[int, int] = {}
    for loc in msg.location:
        lid = loc.id
        if lid == 0 or lid in loc_lines:
            raise _bad(f"location id {lid} is reserved or repeated")
        lines = []
        for ln in loc.line:
            fn = funcs.get(ln.function_id)
            if fn is None:
                raise _bad(f"location id: {lid} has a line with nil function")
            lines.append((fn[0], fn[1], ln.line, fn[2]))
        loc_lines[lid] = tuple(lines)
        if loc.address:
            loc_address[lid] = loc.address
        mid = loc.mapping_id
        if mid and mid not in mapfiles:
            raise _bad(f"location {lid} refers to missing mapping {mid}")
        loc_mapfile[lid] = mapfiles.get(mid, "")

    samples = msg.sample
    if samples and ntypes == 0:
        raise _bad("missing sample type information")
    stacks: List[Sequence[int]] = [smp.location_id for smp in samples]
    values: List[Sequence[int]] = [smp.value for smp in samples]
    for v in values:
        if len(v) != ntypes:
            raise _bad(f"mismatch: sample has {len(v)} values vs. {ntypes} types")
    # Location references are checked where stacks are walked (filters, top), in
    # the same pass: a second pass over every frame would cost as much as top itself.
    if not with_labels:
        # The label loop below checks what it reads; here every label's string
        # indexes are checked at once, streaming (no per-label object is kept): the
        # distinct (key, str, unit) triples are few. As in codec.parse and pprof, a
        # unit is read (and checked) only when str is unset.
        triples = set(map(_LABEL_STRINGS, chain.from_iterable(map(_LABELS, samples))))
        used = {i for k, v, u in triples for i in ((k, v) if v else (k, u))}
        if used:
            s(min(used))
            s(max(used))

    base = [False] * len(stacks)
    labels: Optional[List[Labels]] = [] if with_labels else None
    num_labels: Optional[List[NumLabels]] = [] if with_labels else None
    num_units: Optional[List[Dict[str, List[str]]]] = [] if with_labels else None
    base_key = -1
    if not with_labels:
        for i in range(nstr):
            if st[i] == _BASE:
                base_key = i
                break
    if with_labels or base_key >= 0:
        for i, smp in enumerate(samples):
            smp_labels = smp.label
            if not smp_labels:
                if labels is not None and num_labels is not None and num_units is not None:
                    labels.append({})
                    num_labels.append({})
                    num_units.append({})
                continue
            if labels is None:
                base[i] = any(
                    lab.key == base_key and s(lab.str) == "true" for lab in smp_labels
                )
                continue
            lab_s: Labels = {}
            lab_n: NumLabels = {}
            lab_u: Dict[str, List[str]] = {}
            for lab in smp_labels:
                key = s(lab.key)
                if lab.str:
                    lab_s.setdefault(key, []).append(s(lab.str))
                else:
                    lab_n.setdefault(key, []).append(lab.num)
                    lab_u.setdefault(key, []).append(s(lab.num_unit))
            base[i] = "true" in lab_s.get(_BASE, ())
            labels.append(lab_s)
            assert num_labels is not None and num_units is not None
            num_labels.append(lab_n)
            num_units.append({k: u for k, u in lab_u.items() if any(u)})
    return StackTable(
        sample_types=sample_types,
        loc_lines=loc_lines,
        loc_mapfile=loc_mapfile,
        stacks=stacks,
        values=values,
        base=base,
        labels=labels,
        num_labels=num_labels,
        num_units=num_units,
        default_sample_type=s(msg.default_sample_type),
        time_nanos=msg.time_nanos,
        duration_nanos=msg.duration_nanos,
        comments=[s(c) for c in msg.comment],
        main_file=main_file,
        main_build_id=main_build,
        message=msg,
        loc_address=loc_address,
    )
