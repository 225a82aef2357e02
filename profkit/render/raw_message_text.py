"""``raw`` text straight from the decoded message: no Location/Function objects.

For a report over one local pprof file whose filters only select samples (the
case ``views.raw_message.source_message`` accepts), the raw text is written from
the decoded ``profile.proto`` message (locations, functions, mappings, header)
and the report's tables (which samples, in which order; location ids are the
message's), with the order and numbering of ``views.raw.pprof_order`` and the
line formats of ``render.raw_text``: the output is byte-identical to
``format_raw`` of the filtered Profile, at a fraction of the cost of building
that Profile (``profkit raw large.cpu``: ~0.3 s less CPU). Only mappings (few)
and labelled samples become model objects.
"""

from __future__ import annotations

from itertools import chain
from operator import attrgetter
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from profkit.analysis.names import display_name
from profkit.errors import ProfileFormatError
from profkit.model.profile import Mapping, Profile, Sample, ValueType
from profkit.render.raw_text import _mapping, _sample, _shown_labels, raw_header
from profkit.render.termsafe import term_safe
from profkit.report import Report
from profkit.views.raw import _labels_key, massage_mappings
from profkit.views.raw_message import source_message

__all__ = ["raw_from_message"]

_ID = attrgetter("id")
_ADDRESS, _MAPPING = attrgetter("address"), attrgetter("mapping_id")
_FOLDED, _LINES = attrgetter("is_folded"), attrgetter("line")


def _header(msg: Any, report: Report) -> List[str]:
    st = msg.string_table
    period_type = None
    if msg.HasField("period_type"):
        period_type = ValueType(st[msg.period_type.type], st[msg.period_type.unit])
    return raw_header(Profile(
        sample_types=list(report.table.sample_types), time_nanos=msg.time_nanos,
        duration_nanos=msg.duration_nanos, period_type=period_type, period=msg.period,
        comments=[st[c] for c in msg.comment], default_sample_type=st[msg.default_sample_type],
    ))


def _function_text(msg: Any) -> Callable[[int], Tuple[str, str]]:
    """Return function id -> (text before the line number, text after it), cached."""
    st = msg.string_table
    by_id = {f.id: f for f in msg.function}
    cache: Dict[int, Tuple[str, str]] = {}

    def text(fid: int) -> Tuple[str, str]:
        got = cache.get(fid)
        if got is None:
            f = by_id[fid]
            sys_name = st[f.system_name]
            name = display_name(st[f.name], sys_name)
            after = f" s={f.start_line}"
            if name != sys_name:
                after += f"({term_safe(sys_name)})"
            got = cache[fid] = (f"{term_safe(name)} {term_safe(st[f.filename])}:", after)
        return got

    return text


def _samples(
    report: Report, loc_text: Dict[int, str], merge_equal: bool,
    keep_label: Optional[Callable[[str], bool]],
) -> List[str]:
    """The sample lines: all-zero samples dropped, equal ones summed (``pprof_order``)."""
    t = report.table
    get = loc_text.__getitem__
    value_format = " %10d" * len(t.sample_types) + ": "
    labels, nums, units = t.labels, t.num_labels, t.num_units
    rows: List[List[Any]] = []  # [values, id text, labelled Sample or None, ids]
    seen: Dict[Any, int] = {}
    if labels is not None and not any(labels) and not (nums and any(nums)):
        labels = None  # no sample has labels: the loop below skips its checks
    try:
        if labels is None:
            if not merge_equal:  # merged on loading (``report.loaded``), or hide/show
                return [value_format % tuple(vals) + "".join(map(get, ids))
                        for ids, vals in zip(t.stacks, t.values) if any(vals)]
            return _unlabelled(t, get, value_format)
        for i, (ids, vals) in enumerate(zip(t.stacks, t.values)):
            if not any(vals):
                continue
            text = "".join(map(get, ids))
            smp = None
            if labels is not None and (labels[i] or (nums is not None and nums[i])):
                smp = Sample([], list(vals), labels[i], nums[i] if nums else {},
                             units[i] if units else {})
            if not merge_equal:
                rows.append([vals, text, smp, ids])
                continue
            key: Any = text if smp is None else (text, _labels_key(smp))
            at = seen.get(key)
            if at is None:
                seen[key] = len(rows)
                rows.append([vals, text, smp, ids])
            else:
                row = rows[at]
                row[0] = [a + b for a, b in zip(row[0], vals)]
    except KeyError:
        raise ProfileFormatError("malformed profile: sample has nil location") from None
    out: List[str] = []
    for vals, text, smp, ids in rows:
        if smp is not None:
            smp = Sample(smp.locations, list(vals), smp.labels, smp.num_labels, smp.num_units)
            if keep_label is not None:
                smp = _shown_labels(smp, keep_label)
            if smp.labels or smp.num_labels:
                out.extend(_sample(smp, ids, value_format, loc_text))
                continue
        out.append(value_format % tuple(vals) + text)
    return out


def _unlabelled(t: Any, get: Callable[[int], str], value_format: str) -> List[str]:
    """``_samples`` when no sample has labels (equal stacks are summed): raises KeyError
    for a location id ``get`` does not know."""
    rows: List[List[Any]] = []  # [values, id text]
    seen: Dict[str, List[Any]] = {}
    join = "".join
    for ids, vals in zip(t.stacks, t.values):
        if not any(vals):
            continue
        text = join(map(get, ids))
        row = seen.get(text)
        if row is None:
            row = seen[text] = [vals, text]
            rows.append(row)
        else:
            row[0] = [a + b for a, b in zip(row[0], vals)]
    return [value_format % tuple(vals) + text for vals, text in rows]


def _first_use(report: Report, kept_ids: Sequence[Sequence[int]]) -> Dict[int, None]:
    """Location ids in pprof's order: first use in the nonzero samples as loaded (the
    report's ``loaded`` table: before the profile's drop_frames), else unfiltered."""
    order_of = report.loaded if report.loaded is not None else report.unfiltered
    first_use = dict.fromkeys(chain.from_iterable(
        stack for stack, vals in zip(order_of.stacks, order_of.values) if any(vals)))
    if kept_ids is not order_of.stacks:  # unfiltered: every kept id is already there
        first_use.update(dict.fromkeys(chain.from_iterable(kept_ids)))
    return first_use


def _location_lines(msg: Any, locations: List[Any], mapping_no: Dict[int, int]) -> List[str]:
    """The lines of ``locations`` (numbered from 1, in order) as ``format_raw`` writes them."""
    fn_text = _function_text(msg)
    pad = " " * 13
    out: List[str] = []
    append = out.append
    marks = {mid: f"M={n} " for mid, n in mapping_no.items()}
    for new_id, address, mid, folded, lines in zip(
            range(1, len(locations) + 1), map(_ADDRESS, locations), map(_MAPPING, locations),
            map(_FOLDED, locations), map(_LINES, locations)):
        head = f"{new_id:6d}: {address:#x} {marks.get(mid, '')}"
        if folded:
            head += "[F] "
        if not lines:
            append(head)
            continue
        for ln in lines:
            before, after = fn_text(ln.function_id)
            append(f"{head}{before}{ln.line}{after}")
            head = pad
    return out


def raw_from_message(
    report: Report, merge_equal: bool = True,
    keep_label: Optional[Callable[[str], bool]] = None,
) -> Optional[str]:
    """Return ``report``'s raw text as ``format_raw`` would (see module doc), or None
    when the report is not on the message fast path (the caller then uses it).
    Samples the driver merged on loading (``report.loaded``) are not merged again:
    pprof keeps apart samples that its drop_frames made equal."""
    msg = source_message(report)
    if msg is None:
        return None
    merge_equal = merge_equal and report.loaded is None
    st = msg.string_table
    originals = [
        Mapping(m.id, m.memory_start, m.memory_limit, m.file_offset, st[m.filename],
                st[m.build_id], m.has_functions, m.has_filenames, m.has_line_numbers,
                m.has_inline_frames)
        for m in msg.mapping
    ]
    massaged, massaged_ids = massage_mappings(originals)
    loc_by_id = dict(zip(map(_ID, msg.location), msg.location))
    locations = [loc_by_id[lid] for lid in _first_use(report, report.table.stacks)
                 if lid in loc_by_id]
    loc_text = {loc.id: f"{i + 1} " for i, loc in enumerate(locations)}
    by_mid = {m.id: m for m in originals}
    order: List[int] = [0] if massaged else []
    used = dict.fromkeys(massaged_ids[id(by_mid[mid])] - 1
                         for mid in map(_MAPPING, locations) if mid in by_mid)
    order.extend(m for m in used if m not in order[:1])
    position = {m: pos + 1 for pos, m in enumerate(order)}
    mapping_no = {mid: position.get(massaged_ids[id(m)] - 1, massaged_ids[id(m)])
                  for mid, m in by_mid.items()}
    out = _header(msg, report)
    out.extend(_samples(report, loc_text, merge_equal, keep_label))
    out.append("Locations")
    out.extend(_location_lines(msg, locations, mapping_no))
    out.append("Mappings")
    out.extend(_mapping(massaged[i], n) for n, i in enumerate(order, 1))
    return "\n".join(out) + "\n"
