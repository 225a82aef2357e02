"""Read and write ``profile.proto``: gzip'd or plain protobuf in, gzip'd protobuf out.

``parse`` never trusts its input: inflation is capped (a gzip bomb is rejected once
its output passes the cap, with peak memory about the cap), every string index and
id reference is range-checked, and the result passes ``check_valid``. Every failure
is a ``ProfileFormatError`` with one line that says what is wrong.

The cap (file size and inflated size) is ``max_profile_bytes()``: the environment
variable ``PROFKIT_MAX_PROFILE_BYTES`` if set, else ``DEFAULT_MAX_BYTES`` (256 MiB),
both read at every call. Functions taking ``max_bytes=None`` use it.

``save`` / ``write_atomic`` write to a temporary file in the target directory and
rename it, so a failure never leaves a half-written file; a failure to write is a
``WriteError`` with one line (``OUT: cannot write (reason)``).
"""

from __future__ import annotations

import os
import tempfile
import zlib
from typing import Any, Dict, List, Optional, Union

from google.protobuf.message import DecodeError

from profkit.model._schema import ProfileMessage
from profkit.model.errors import ProfileFormatError, ProfkitError
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType
from profkit.model.validate import check_int64, check_valid

#: Largest profile accepted by default, gzip'd file and inflated message alike. The
#: largest profiles seen in practice inflate to well under 100 MB (a 231k-sample,
#: 29 MB gzip'd profile is 40 MB raw); 256 MiB leaves room while a gzip bomb is
#: rejected in well under a second and ~256 MiB of memory.
DEFAULT_MAX_BYTES = 256 << 20
#: Environment variable that overrides DEFAULT_MAX_BYTES (a number of bytes).
MAX_BYTES_ENV = "PROFKIT_MAX_PROFILE_BYTES"
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
# Read once at import (os.umask can only be read by setting it, which is not thread-safe later).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


class WriteError(ProfkitError):
    """An output file could not be written; ``path`` and ``reason`` are the parts of the line."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: cannot write ({reason})")
        self.path = path
        self.reason = reason


def max_profile_bytes() -> int:
    """Return the input cap now: ``$PROFKIT_MAX_PROFILE_BYTES`` if set, else DEFAULT_MAX_BYTES.

    Raises ProfkitError (one line) if the variable is set but not a positive integer.
    """
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ProfkitError(
            f"{MAX_BYTES_ENV}={raw!r} is not a positive number of bytes: unset it or "
            f"give one, e.g. {DEFAULT_MAX_BYTES}"
        )
    return value


def _cap(max_bytes: Optional[int]) -> int:
    return max_profile_bytes() if max_bytes is None else max_bytes


def bomb_message(max_bytes: int) -> str:
    """Return the one-line message for input that inflates past ``max_bytes``."""
    return (
        f"profile is too large: inflates past {max_bytes} bytes (gzip bomb?); "
        f"raise {MAX_BYTES_ENV} if it is genuine"
    )


#: What ``inflate`` returns: the input itself, or the inflated bytes (a bytearray, so
#: that the output is never held twice).
Buffer = Union[bytes, bytearray]


def inflate(data: bytes, *, max_bytes: Optional[int] = None) -> Buffer:
    """Return ``data`` gunzipped if it is gzip'd, else unchanged.

    Inflates in chunks into one buffer and stops as soon as the output passes
    ``max_bytes`` (default ``max_profile_bytes()``), so peak memory is about the cap.
    Raises ProfileFormatError if the stream is corrupt, truncated, or too large.
    """
    if not data.startswith(_GZIP_MAGIC):
        return data
    cap = _cap(max_bytes)
    out = bytearray()
    view = memoryview(data)
    pos = 0
    try:
        while True:  # one gzip member per pass: concatenated members are legal
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            while not d.eof:
                # Feed the input in pieces: passing all of it with max_length would
                # copy the rest of the input (unconsumed_tail) for every chunk out.
                pending: Union[bytes, memoryview] = d.unconsumed_tail
                if not pending:
                    if pos >= len(view):
                        raise ProfileFormatError(
                            "truncated gzip stream: the profile file is incomplete"
                        )
                    pending = view[pos:pos + _CHUNK]
                    pos += len(pending)
                out += d.decompress(pending, min(_CHUNK, cap + 1 - len(out)))
                if len(out) > cap:
                    raise ProfileFormatError(bomb_message(cap))
            if not d.unused_data and pos >= len(view):
                break
            rest = (d.unused_data + view[pos:].tobytes()).lstrip(b"\x00")
            if not rest.startswith(_GZIP_MAGIC):
                break  # trailing padding or garbage after the last member is ignored
            view, pos = memoryview(rest), 0
    except zlib.error as e:
        raise ProfileFormatError(f"corrupt gzip stream ({e})") from None
    return out


def _decode_message(raw: Buffer) -> Any:
    msg = ProfileMessage()
    try:
        msg.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ProfileFormatError(f"not a valid profile.proto message ({e})") from None
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


PathLike = Union[str, "os.PathLike[str]"]


def load(path: PathLike, *, max_bytes: Optional[int] = None) -> Profile:
    """Read and parse a profile file; a missing file is a one-line ProfileFormatError."""
    max_bytes = _cap(max_bytes)
    data = read_bytes(path, limit=max_bytes)
    try:
        return parse(data, max_bytes=max_bytes)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None


def read_bytes(path: PathLike, *, limit: Optional[int] = None, head: bool = False) -> bytes:
    """Read a whole file, with errors (missing, directory, too big) as one line.

    ``limit`` defaults to ``max_profile_bytes()``. With ``head=True`` return at most
    the first ``limit`` bytes instead of refusing a larger file (for sniffing a format).
    """
    name = os.fspath(path)
    limit = _cap(limit)
    try:
        with open(name, "rb") as f:
            data = f.read(limit + 1)
    except FileNotFoundError:
        raise ProfileFormatError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ProfileFormatError(f"{name}: is a directory, not a profile file") from None
    except OSError as e:
        raise ProfileFormatError(f"{name}: cannot read ({e.strerror})") from None
    if len(data) > limit:
        if head:
            return data[:limit]
        raise ProfileFormatError(
            f"{name}: profile is too large: larger than {limit} bytes; "
            f"raise {MAX_BYTES_ENV} if it is genuine"
        )
    return data


def _reason(e: OSError, name: str) -> str:
    if isinstance(e, IsADirectoryError) or os.path.isdir(name):
        return "it is a directory: give a file name"
    directory = os.path.dirname(os.path.abspath(name))
    if isinstance(e, FileNotFoundError) and not os.path.isdir(directory):
        return f"no such directory: {directory}"
    return e.strerror or type(e).__name__


def write_atomic(path: PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename; nothing partial remains.

    Raises WriteError (``PATH: cannot write (reason)``, one line) on any OS error, e.g.
    ``path`` is a directory, the directory is missing or read-only, the disk is full;
    the temporary file is removed and an existing ``path`` is left untouched.
    """
    name = os.fspath(path)
    if os.path.isdir(name):
        raise WriteError(name, "it is a directory: give a file name")
    directory = os.path.dirname(os.path.abspath(name))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".profkit-", suffix=".tmp", dir=directory)
    except OSError as e:
        raise WriteError(name, _reason(e, name)) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; give the file the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, name)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise WriteError(name, _reason(e, name)) from None
        raise


def save(p: Profile, path: PathLike) -> None:
    """Write ``p`` gzip'd to ``path`` atomically."""
    write_atomic(path, serialize(p))
