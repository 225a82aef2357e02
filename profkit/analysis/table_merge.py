"""Diff and subtract on StackTables: pprof's ``-diff_base`` / ``-base`` without Profiles.

``diff_files(new, base, subtract=..., normalize=...)`` loads two pprof files straight
from their decoded messages and returns the StackTable that ``from_profile`` would
give for ``analysis.diff`` (``subtract``) of the loaded profiles, with the same
numbers for every report computed from a table (flat, cum, totals, per-node edges):

* diff: the base's samples are negated and flagged as diff-base samples (label
  ``pprof::base=true``), after the new profile's; samples are not folded (folding
  equal stacks of one sign changes no sum, and a side holding both signs takes the
  Profile path instead, see below);
* subtract: the negated base is merged into the new profile with pprof's Merge keys
  (location: address relative to its mapping, mapping, lines by function key, line,
  column; sample: location keys and labels), so values of equal stacks cancel and
  all-zero samples vanish, which changes pprof's total (the sum of |value|);
* ``normalize`` scales the new profile's values per sample type by base total / new
  total, rounded per sample as ``analysis.scale`` does;
* headers as Merge: earliest time, summed duration, comments once in order, the
  new profile's default sample type and main mapping first.

Location ids of the base that name other lines than the same id in the new table
are renumbered; no other id changes. Samples of a diff with equal stacks stay apart
(a ``traces`` report lists them separately; totals are the same).

``None`` means "take the Profile path": an input that is not a plain, valid pprof
file (the full loader then names the problem), a diff side with values of both
signs, or values that would overflow int64. Incompatible types raise
IncompatibleProfilesError with the Profile path's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import neg
from typing import Any, Dict, Hashable, List, Optional, Sequence, Tuple

from profkit.analysis.merge import check_compatible
from profkit.analysis.scale import go_round
from profkit.analysis.stacks import StackTable, from_message
from profkit.analysis.stacks_wire import from_file_bytes
from profkit.errors import IncompatibleProfilesError, ProfkitError
from profkit.model.profile import Profile, ValueType
from profkit.model.validate import INT64_MAX, INT64_MIN

__all__ = ["Side", "diff_files", "diff_tables", "load_side"]

_BASE = "pprof::base"
_U64 = 1 << 64
_MAP_ROUNDING = 0x1000


@dataclass
class Side:
    """One input of a diff: its table and what the table leaves out.

    ``period_type``/``has_mapping`` are what Merge's compatibility check and main
    mapping need; ``loc_keys`` maps location ids to pprof's Merge key (filled only
    when ``load_side(keys=True)``).
    """

    table: StackTable
    period_type: Optional[ValueType]
    has_mapping: bool
    loc_keys: Optional[Dict[int, Hashable]] = None
    drop_frames: str = ""
    keep_frames: str = ""


def load_side(path: str, *, with_labels: bool, keys: bool) -> Optional[Side]:
    """Return the Side of the pprof file ``path``, or None when it is not a valid one.

    Read in C (``stacks_wire``) unless ``keys`` (Merge's location keys need the
    message's addresses and mappings) or the C reader hands the file back.
    """
    from profkit.model.fileio import read_bytes

    try:
        data = read_bytes(path)
        wire = None if keys else from_file_bytes(data, with_labels=with_labels)
    except ProfkitError:
        return None
    if wire is not None:
        return Side(wire.table, wire.period_type, wire.has_mapping, None,
                    wire.drop_frames, wire.keep_frames)
    from profkit.model.codec import decode

    try:
        msg = decode(data)
        if not (msg.sample_type and msg.string_table):
            return None
        table = from_message(msg, with_labels=with_labels)
    except ProfkitError:
        return None
    st = msg.string_table
    period = (
        ValueType(st[msg.period_type.type], st[msg.period_type.unit])
        if msg.HasField("period_type") else None
    )
    return Side(
        table, period, bool(msg.mapping), _location_keys(msg) if keys else None,
        st[msg.drop_frames], st[msg.keep_frames],
    )


def _location_keys(msg: Any) -> Dict[int, Hashable]:
    """Return location id -> pprof's Merge key of that location (see module doc)."""
    st = msg.string_table
    maps: Dict[int, Tuple[Tuple[int, int, str], int]] = {}
    for m in msg.mapping:
        size = (m.memory_limit - m.memory_start) % _U64
        size = (size + _MAP_ROUNDING - 1) % _U64
        size -= size % _MAP_ROUNDING
        maps[m.id] = ((size, m.file_offset, st[m.build_id] or st[m.filename]), m.memory_start)
    funcs = {
        f.id: (st[f.name], st[f.system_name], st[f.filename], f.start_line) for f in msg.function
    }
    out: Dict[int, Hashable] = {}
    for loc in msg.location:
        mapping = maps.get(loc.mapping_id)
        if mapping is None:
            where: Tuple[Any, int] = (None, loc.address)
        else:
            where = (mapping[0], (loc.address - mapping[1]) % _U64)
        lines = tuple((funcs[ln.function_id], ln.line, ln.column) for ln in loc.line)
        out[loc.id] = (where, loc.is_folded, lines)
    return out


def _check_types(new: Side, base: Side) -> None:
    a = Profile(sample_types=new.table.sample_types, period_type=new.period_type)
    b = Profile(sample_types=base.table.sample_types, period_type=base.period_type)
    check_compatible(a, b)


def _mixed_signs(values: Sequence[Sequence[int]]) -> bool:
    if not values:
        return False
    return min(map(min, values)) < 0 and max(map(max, values)) > 0


def _normalized(new: StackTable, base: StackTable) -> Optional[List[Sequence[int]]]:
    n = len(new.sample_types)
    base_totals, new_totals = [0] * n, [0] * n
    for vals in base.values:
        for i, v in enumerate(vals):
            base_totals[i] += v
    for vals in new.values:
        for i, v in enumerate(vals):
            new_totals[i] += v
    ratios = [b / t if t else 0.0 for b, t in zip(base_totals, new_totals)]
    if all(r == 1 for r in ratios):
        return list(new.values)
    out: List[Sequence[int]] = []
    for vals in new.values:
        scaled = [v if r == 1 else go_round(v * r) for v, r in zip(vals, ratios)]
        if min(scaled) < INT64_MIN or max(scaled) > INT64_MAX:
            return None
        out.append(scaled)
    return out


def _headers(new: Side, base: Side) -> Dict[str, Any]:
    a, b = new.table, base.table
    times = [t for t in (a.time_nanos, b.time_nanos) if t]
    main = a if new.has_mapping or not base.has_mapping else b
    return dict(
        default_sample_type=a.default_sample_type or b.default_sample_type,
        time_nanos=min(times, default=0),
        duration_nanos=a.duration_nanos + b.duration_nanos,
        comments=list(dict.fromkeys(a.comments + b.comments)),
        main_file=main.main_file, main_build_id=main.main_build_id,
    )


def diff_tables(new: Side, base: Side, *, subtract: bool, normalize: bool) -> Optional[StackTable]:
    """Return the table of new against base (see module doc), or None for the Profile path.

    Raises IncompatibleProfilesError (pprof's message) when the types differ.
    """
    _check_types(new, base)
    a, b = new.table, base.table
    new_values: List[Sequence[int]] = list(a.values)
    if normalize:
        scaled = _normalized(a, b)
        if scaled is None:
            return None
        new_values = scaled
    if b.values and min(map(min, b.values)) == INT64_MIN:
        return None  # its negation does not fit int64: the Profile path says so
    if subtract:
        assert new.loc_keys is not None and base.loc_keys is not None
        return _merged(new, base, new_values)
    if _mixed_signs(new_values) or _mixed_signs(b.values):
        return None
    loc_lines = dict(a.loc_lines)
    loc_mapfile = dict(a.loc_mapfile)
    loc_address = dict(a.loc_address)
    renumber: Dict[int, int] = {}
    next_id = max(loc_lines, default=0) + 1
    for lid, lines in b.loc_lines.items():
        mapfile = b.loc_mapfile.get(lid, "")
        address = b.loc_address.get(lid, 0)
        if lid in loc_lines and (loc_lines[lid] != lines or loc_mapfile.get(lid, "") != mapfile
                                 or loc_address.get(lid, 0) != address):
            renumber[lid] = next_id
            next_id += 1
        new_id = renumber.get(lid, lid)
        loc_lines[new_id] = lines
        loc_mapfile[new_id] = mapfile
        if address:
            loc_address[new_id] = address
    if renumber:
        moved = set(renumber)
        get = renumber.get
        base_stacks = [
            s if moved.isdisjoint(s) else [get(x, x) for x in s] for s in b.stacks
        ]
    else:
        base_stacks = list(b.stacks)
    labels = num_labels = num_units = None
    if a.labels is not None and b.labels is not None:
        labels = a.labels + [{**lab, _BASE: ["true"]} for lab in b.labels]
        num_labels = (a.num_labels or []) + (b.num_labels or [])
        num_units = (a.num_units or []) + (b.num_units or [])
    return StackTable(
        sample_types=list(a.sample_types), loc_lines=loc_lines, loc_mapfile=loc_mapfile,
        stacks=list(a.stacks) + base_stacks,
        values=new_values + [tuple(map(neg, vals)) for vals in b.values],
        base=list(a.base) + [True] * len(b.values),
        labels=labels, num_labels=num_labels, num_units=num_units,
        loc_address=loc_address, **_headers(new, base),
    )


def _label_key(t: StackTable, i: int) -> Hashable:
    if t.labels is None:
        return t.base[i]
    key: Tuple[Any, ...] = (tuple(sorted((k, tuple(v)) for k, v in t.labels[i].items())),)
    nums = t.num_labels[i] if t.num_labels is not None else {}
    if nums:
        units = t.num_units[i] if t.num_units is not None else {}
        key += (tuple(sorted((k, tuple(v), tuple(units.get(k, ()))) for k, v in nums.items())),)
    return key


def _merged(new: Side, base: Side, new_values: List[Sequence[int]]) -> Optional[StackTable]:
    """Merge new and the negated base with pprof's Merge keys (subtract)."""
    a, b = new.table, base.table
    assert new.loc_keys is not None and base.loc_keys is not None
    canon: Dict[Hashable, int] = {}
    loc_lines: Dict[int, Any] = {}
    loc_mapfile: Dict[int, str] = {}
    loc_address: Dict[int, int] = {}
    index: Dict[Hashable, int] = {}
    stacks: List[Sequence[int]] = []
    values: List[List[int]] = []
    keep: List[Tuple[StackTable, int]] = []
    for side, t, vals_of, sign in ((new, a, new_values, 1), (base, b, b.values, -1)):
        assert side.loc_keys is not None
        ids: Dict[int, int] = {}
        for lid, key in side.loc_keys.items():
            cid = canon.get(key)
            if cid is None:
                cid = canon[key] = len(canon) + 1
                loc_lines[cid] = t.loc_lines[lid]
                loc_mapfile[cid] = t.loc_mapfile.get(lid, "")
                if lid in t.loc_address:
                    loc_address[cid] = t.loc_address[lid]
            ids[lid] = cid
        for i, (stack, vals) in enumerate(zip(t.stacks, vals_of)):
            if not any(vals):
                continue
            try:
                cstack = tuple(map(ids.__getitem__, stack))
            except KeyError:
                return None  # a dangling location: the full loader reports it
            skey = (cstack, _label_key(t, i))
            j = index.get(skey)
            if j is None:
                index[skey] = len(values)
                stacks.append(cstack)
                values.append([sign * v for v in vals])
                keep.append((t, i))
            else:
                acc = values[j]
                for k, v in enumerate(vals):
                    acc[k] += sign * v
    live = [j for j, vals in enumerate(values) if any(vals)]
    if any(min(values[j]) < INT64_MIN or max(values[j]) > INT64_MAX for j in live):
        return None
    labelled = a.labels is not None and b.labels is not None

    def col(name: str) -> Optional[List[Any]]:
        if not labelled:
            return None
        return [getattr(keep[j][0], name)[keep[j][1]] for j in live]

    return StackTable(
        sample_types=list(a.sample_types), loc_lines=loc_lines, loc_mapfile=loc_mapfile,
        stacks=[stacks[j] for j in live], values=[values[j] for j in live],
        base=[keep[j][0].base[keep[j][1]] for j in live],
        labels=col("labels"), num_labels=col("num_labels"), num_units=col("num_units"),
        loc_address=loc_address, **_headers(new, base),
    )


def diff_files(
    new_path: str, base_path: str, *, subtract: bool, normalize: bool, with_labels: bool,
    all_frames: bool = True,
) -> Optional[StackTable]:
    """Return the table of ``new_path`` against ``base_path`` (see module doc) or None.

    Unless ``all_frames``, the new profile's ``drop_frames``/``keep_frames`` (a
    merge keeps the first profile's) are applied to the result, as on load.

    Raises IncompatibleProfilesError ``BASE: <pprof's message> (the base of NEW)``.
    """
    new = load_side(new_path, with_labels=with_labels or subtract, keys=subtract)
    if new is None:
        return None
    base = load_side(base_path, with_labels=with_labels or subtract, keys=subtract)
    if base is None:
        return None
    try:
        out = diff_tables(new, base, subtract=subtract, normalize=normalize)
    except IncompatibleProfilesError as e:
        raise IncompatibleProfilesError(f"{base_path}: {e} (the base of {new_path})") from None
    if out is not None and not all_frames and new.drop_frames:
        from profkit.analysis.prune import compile_frames, remove_uninteresting

        drop, keep = compile_frames(new.drop_frames, new.keep_frames)
        out = remove_uninteresting(out, drop, keep)
    return out
