"""A StackTable straight from ``profile.proto`` bytes, in C (``profkit.model._pbtable``).

``from_wire`` is the fast twin of decoding with protobuf and then
``stacks.from_message``: it builds the same table (same location ids, lines, names,
values, base flags and labels) without a message object per sample, location and
line, which is most of ``profkit top`` on a 20k-sample file. It accepts a subset of
what the protobuf path accepts: for anything else (a malformed message, an index out
of range, a repeated id, a dangling reference, a missing C extension) it returns
None and the caller takes the protobuf path, which owns the one-line errors. Counts
are checked against ``profkit.model.limits`` as ``Limits.check_message`` does (its
LimitError propagates); big messages must have gone through ``wirescan.prepare``
first, as they do before protobuf decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from profkit.analysis.names import display_name
from profkit.analysis.stacks import Labels, NumLabels, StackTable
from profkit.model.limits import current_limits
from profkit.model.profile import ValueType

try:
    from profkit.model import _pbtable
except ImportError:  # no C compiler at install time: the protobuf path serves
    _pbtable = None  # type: ignore[assignment]

__all__ = ["WireTable", "available", "from_file_bytes", "from_wire"]


@dataclass
class WireTable:
    """A table read by ``from_wire`` and what of the profile it leaves out that its
    readers need: the profile's own drop/keep frames, period type, whether it has
    mappings (a diff's compatibility check and main mapping)."""

    table: StackTable
    drop_frames: str
    keep_frames: str
    period_type: Optional[ValueType]
    has_mapping: bool


#: the limit each of _pbtable's counts is checked against (Limits.check_message's)
_COUNT_LIMITS = ("samples", "locations", "locations", "functions", "strings", "strings")


def available() -> bool:
    """Return whether the C reader was built."""
    return _pbtable is not None


def from_file_bytes(data: bytes, *, with_labels: bool = False) -> Optional[WireTable]:
    """Return the table of a pprof file's bytes (gzip'd or plain), or None when the
    C reader is missing or does not accept them outright (the protobuf path then
    decides, and names what is wrong: a corrupt or bomb-sized gzip stream, a message
    over a limit, ...). LimitError when a count the reader finds passes its limit."""
    if not data or _pbtable is None:
        return None
    from profkit.model.errors import ProfileFormatError
    from profkit.model.fileio import inflate
    from profkit.model.wirescan import prepare

    try:
        raw = prepare(inflate(data), current_limits())
    except ProfileFormatError:
        return None
    return from_wire(raw, with_labels=with_labels)


def from_wire(raw: Union[bytes, bytearray], *, with_labels: bool = False) -> Optional[WireTable]:
    """Return the table of an inflated ``profile.proto`` message, or None (see module doc).

    Raises LimitError when a count passes its limit.
    """
    if _pbtable is None or not raw:
        return None
    parts = _pbtable.read(raw, with_labels, display_name)
    if parts is None:
        return None
    (types, default_type, time_nanos, duration_nanos, comments, drop, keep, main_file,
     main_build, loc_lines, loc_mapfile, stacks, values, base, raw_labels, counts,
     period, loc_address) = parts
    limits = current_limits()
    for name, count in zip(_COUNT_LIMITS, counts):
        limits.check(name, count)
    labels = num_labels = num_units = None
    if raw_labels is not None:
        labels, num_labels, num_units = _label_dicts(raw_labels)
    table = StackTable(
        sample_types=[ValueType(t, u) for t, u in types],
        loc_lines=loc_lines, loc_mapfile=loc_mapfile, stacks=stacks, values=values,
        base=base, labels=labels, num_labels=num_labels, num_units=num_units,
        default_sample_type=default_type, time_nanos=time_nanos,
        duration_nanos=duration_nanos, comments=comments, main_file=main_file,
        main_build_id=main_build, loc_address=loc_address,
    )
    return WireTable(table, drop, keep, ValueType(*period) if period else None,
                     counts[2] > 0)


def _label_dicts(
    raw_labels: List[Tuple[Tuple[str, Optional[str], int, Optional[str]], ...]],
) -> Tuple[List[Labels], List[NumLabels], List[Dict[str, List[str]]]]:
    """Per sample: string labels, numeric labels, numeric units (as from_message)."""
    labels: List[Labels] = []
    num_labels: List[NumLabels] = []
    num_units: List[Dict[str, List[str]]] = []
    for sample_labels in raw_labels:
        lab_s: Labels = {}
        lab_n: NumLabels = {}
        lab_u: Dict[str, List[str]] = {}
        for key, text, num, unit in sample_labels:
            if text is not None:
                lab_s.setdefault(key, []).append(text)
            else:
                lab_n.setdefault(key, []).append(num)
                lab_u.setdefault(key, []).append(unit or "")
        labels.append(lab_s)
        num_labels.append(lab_n)
        num_units.append({k: u for k, u in lab_u.items() if any(u)})
    return labels, num_labels, num_units
