"""Read and write ``profile.proto``: gzip'd or plain protobuf in, gzip'd protobuf out.

``parse`` never trusts its input: inflation is capped (see ``profkit.model.fileio``:
a gzip bomb is rejected once its output passes ``max_profile_bytes()``, with peak
memory about the cap), every string index and id reference is range-checked, and
the result passes ``check_valid``. Counts are bounded by ``profkit.model.limits``
(checked by ``wirescan.prepare`` before a big message is decoded, so that peak
memory follows the limits, not the input; runs of identical samples are merged
there). Every failure is a ``ProfileFormatError`` with one
line that says what is wrong. ``serialize`` refuses values that do not fit int64.
``save`` writes atomically (``fileio.write_atomic``: a failure is one-line
``WriteError`` and never leaves a half-written file). The file helpers of
``fileio`` are re-exported here.
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from google.protobuf.message import DecodeError

from profkit.model._schema import ProfileMessage
from profkit.model.errors import ProfileFormatError
from profkit.model.fileio import (
    DEFAULT_MAX_BYTES,
    MAX_BYTES_ENV,
    Buffer,
    PathLike,
    WriteError,
    bomb_message,
    inflate,
    max_profile_bytes,
    read_bytes,
    resolve_cap,
    write_atomic,
)
from profkit.model.limits import current_limits
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType
from profkit.model.validate import check_int64, check_valid
from profkit.model.wirescan import prepare

__all__ = [  # the file helpers are re-exported from profkit.model.fileio
    "DEFAULT_MAX_BYTES", "MAX_BYTES_ENV", "Buffer", "PathLike", "WriteError", "bomb_message",
    "decode", "inflate", "load", "max_profile_bytes", "parse", "read_bytes", "save",
    "serialize", "write_atomic",
]

def _decode_message(raw: Buffer) -> Any:
    """Decode ``raw`` within the limits in force (``profkit.model.limits``)."""
    limits = current_limits()
    raw = prepare(raw, limits)  # a big message is walked first: refused before it is built
    msg = ProfileMessage()
    try:
        msg.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ProfileFormatError(f"not a valid profile.proto message ({e})") from None
    limits.check_message(msg)
    return msg


def decode(data: bytes, *, max_bytes: Optional[int] = None) -> Any:
    """Return the decoded ``profile.proto`` message of gzip'd or plain bytes.

    No Python objects are built and nothing is validated beyond the wire format:
    callers that read the message must range-check indexes and ids themselves
    (``profkit.analysis.stacks.from_message`` does). Raises ProfileFormatError for
    empty, corrupt, bomb-sized or non-protobuf input, or a message that has no
    string table, sample types or samples.
    """
    if not data:
        raise ProfileFormatError("empty input: not a profile")
    msg = _decode_message(inflate(data, max_bytes=max_bytes))
    if not msg.string_table and not msg.sample and not msg.sample_type:
        raise ProfileFormatError("not a profile: no string table, sample types or samples")
    return msg


def parse(data: bytes, *, max_bytes: Optional[int] = None) -> Profile:
    """Parse gzip'd or plain ``profile.proto`` bytes into a validated Profile."""
    if not data:
        raise ProfileFormatError("empty input: not a profile")
    raw = inflate(data, max_bytes=max_bytes)
    msg = _decode_message(raw)
    if not msg.string_table and not msg.sample and not msg.sample_type:
        raise ProfileFormatError("not a profile: no string table, sample types or samples")
    p = _from_message(msg)
    check_valid(p, references_checked=True)  # _from_message resolved every reference
    return p


def _from_message(msg: Any) -> Profile:
    st: List[str] = list(msg.string_table)
    n = len(st)

    def s(i: int) -> str:
        if 0 <= i < n:
            return st[i]
        raise ProfileFormatError(
            f"malformed profile: string index {i} out of range (table has {n} entries)"
        )

    if n and st[0] != "":
        raise ProfileFormatError("malformed profile: string_table[0] must be ''")

    def vt(m: Any) -> ValueType:
        return ValueType(s(m.type), s(m.unit))

    mappings: Dict[int, Mapping] = {}
    for m in msg.mapping:
        if m.id in mappings:
            raise ProfileFormatError(f"malformed profile: multiple mappings with same id {m.id}")
        mappings[m.id] = Mapping(
            m.id, m.memory_start, m.memory_limit, m.file_offset, s(m.filename), s(m.build_id),
            m.has_functions, m.has_filenames, m.has_line_numbers, m.has_inline_frames,
        )
    functions: Dict[int, Function] = {}
    for f in msg.function:
        if f.id in functions:
            raise ProfileFormatError(f"malformed profile: multiple functions with same id {f.id}")
        functions[f.id] = Function(f.id, s(f.name), s(f.system_name), s(f.filename), f.start_line)
    locations: Dict[int, Location] = {}
    for loc in msg.location:
        mapping = None
        if loc.mapping_id:
            mapping = mappings.get(loc.mapping_id)
            if mapping is None:
                raise ProfileFormatError(
                    f"malformed profile: location {loc.id} refers to missing mapping {loc.mapping_id}"
                )
        lines = []
        for ln in loc.line:
            fn = functions.get(ln.function_id)
            if fn is None:
                raise ProfileFormatError(
                    f"malformed profile: location id: {loc.id} has a line with nil function"
                )
            lines.append(Line(fn, ln.line, ln.column))
        if loc.id in locations:
            raise ProfileFormatError(f"malformed profile: multiple locations with same id {loc.id}")
        locations[loc.id] = Location(loc.id, mapping, loc.address, lines, loc.is_folded)

    samples: List[Sample] = []
    get_loc = locations.__getitem__
    try:
        for smp in msg.sample:
            sample = Sample(list(map(get_loc, smp.location_id)), list(smp.value))
            if smp.label:
                for lab in smp.label:
                    key = s(lab.key)
                    if lab.str:
                        sample.labels.setdefault(key, []).append(s(lab.str))
                    else:
                        sample.num_labels.setdefault(key, []).append(lab.num)
                        sample.num_units.setdefault(key, []).append(s(lab.num_unit))
                for key, units in list(sample.num_units.items()):
                    if not any(units):
                        del sample.num_units[key]
            samples.append(sample)
    except KeyError as e:
        raise ProfileFormatError(f"malformed profile: sample has nil location (id {e})") from None

    return Profile(
        sample_types=[vt(x) for x in msg.sample_type],
        samples=samples,
        mappings=list(mappings.values()),
        locations=list(locations.values()),
        functions=list(functions.values()),
        drop_frames=s(msg.drop_frames),
        keep_frames=s(msg.keep_frames),
        time_nanos=msg.time_nanos,
        duration_nanos=msg.duration_nanos,
        period_type=vt(msg.period_type) if msg.HasField("period_type") else None,
        period=msg.period,
        comments=[s(c) for c in msg.comment],
        default_sample_type=s(msg.default_sample_type),
        doc_url=s(msg.doc_url),
    )


def _to_message(p: Profile) -> Any:
    table: Dict[str, int] = {"": 0}
    strings: List[str] = [""]

    def s(value: str) -> int:
        i = table.get(value)
        if i is None:
            i = table[value] = len(strings)
            strings.append(value)
        return i

    msg = ProfileMessage()
    for st in p.sample_types:
        msg.sample_type.add(type=s(st.type), unit=s(st.unit))
    add_sample = msg.sample.add
    for smp in p.samples:
        labels: List[Dict[str, Any]] = []
        for k, vs in smp.labels.items():
            ki = s(k)
            labels.extend({"key": ki, "str": s(v)} for v in vs)
        for k, ns in smp.num_labels.items():
            ki = s(k)
            units = smp.num_units.get(k, [])
            for j, num in enumerate(ns):
                unit = units[j] if j < len(units) else ""
                labels.append({"key": ki, "num": num, "num_unit": s(unit)})
        add_sample(
            location_id=[loc.id for loc in smp.locations], value=smp.values, label=labels
        )
    for m in p.mappings:
        msg.mapping.add(
            id=m.id, memory_start=m.memory_start, memory_limit=m.memory_limit,
            file_offset=m.file_offset, filename=s(m.filename), build_id=s(m.build_id),
            has_functions=m.has_functions, has_filenames=m.has_filenames,
            has_line_numbers=m.has_line_numbers, has_inline_frames=m.has_inline_frames,
        )
    for loc in p.locations:
        msg.location.add(
            id=loc.id,
            mapping_id=loc.mapping.id if loc.mapping is not None else 0,
            address=loc.address,
            line=[
                {"function_id": ln.function.id, "line": ln.line, "column": ln.column}
                for ln in loc.lines
            ],
            is_folded=loc.is_folded,
        )
    for f in p.functions:
        msg.function.add(
            id=f.id, name=s(f.name), system_name=s(f.system_name), filename=s(f.filename),
            start_line=f.start_line,
        )
    msg.drop_frames = s(p.drop_frames)
    msg.keep_frames = s(p.keep_frames)
    msg.time_nanos = p.time_nanos
    msg.duration_nanos = p.duration_nanos
    if p.period_type is not None:
        msg.period_type.type = s(p.period_type.type)
        msg.period_type.unit = s(p.period_type.unit)
    msg.period = p.period
    msg.comment.extend(s(c) for c in p.comments)
    msg.default_sample_type = s(p.default_sample_type)
    msg.doc_url = s(p.doc_url)
    msg.string_table.extend(strings)
    return msg


def serialize(p: Profile, *, compress: bool = True) -> bytes:
    """Encode ``p`` as ``profile.proto`` bytes, gzip'd unless ``compress`` is False.

    Validates first (ProfileFormatError on an invalid profile, or one whose values
    do not fit int64, e.g. after a merge); ``p`` is not modified.
    """
    check_valid(p)
    try:
        msg = _to_message(p)
    except ValueError:  # upb: "Value out of range"
        check_int64(p, "cannot encode the profile")
        raise
    raw = msg.SerializeToString()
    if not compress:
        return bytes(raw)
    import gzip

    return gzip.compress(raw, compresslevel=1)  # Go's runtime uses BestSpeed too


def load(path: PathLike, *, max_bytes: Optional[int] = None) -> Profile:
    """Read and parse a profile file; a missing file is a one-line ProfileFormatError."""
    max_bytes = resolve_cap(max_bytes)
    data = read_bytes(path, limit=max_bytes)
    try:
        return parse(data, max_bytes=max_bytes)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None


def save(p: Profile, path: PathLike) -> None:
    """Write ``p`` gzip'd to ``path`` atomically."""
    write_atomic(path, serialize(p))
