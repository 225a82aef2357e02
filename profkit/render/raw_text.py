"""``raw``: the filtered profile as ``go tool pprof -raw`` prints it (``Profile.String``).

Comments, PeriodType, Period, Time (Go's ``time.Time`` text, local zone),
Duration (Go's ``time.Duration`` text cut to 4 characters, as pprof's ``%.4v``),
the sample types (``[dflt]`` marks the default), every sample (values, location
ids, string then numeric labels), every location (address, mapping, lines with
start lines, the system name when it differs) and every mapping.

What pprof does on reading is mirrored so the text matches: function names are
shown as pprof's symbolizer rewrites them (``analysis.names``); samples,
locations and mappings are ordered and numbered as go's pprof holds them
(``views.raw.pprof_order``). Names pass through ``term_safe``; the JSON
form keeps them as they are.
"""

from __future__ import annotations

import datetime
import json
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from profkit.analysis.filter import compile_regex
from profkit.analysis.names import display_name
from profkit.analysis.stacks import StackTable
from profkit.model.profile import Location, Mapping, Profile, Sample
from profkit.render.termsafe import term_safe
from profkit.report import Report
from profkit.views.raw import label_frame_ids, pprof_order
from profkit.views.raw_message import filtered_profile

__all__ = [
    "format_raw", "go_duration", "go_time", "raw_header", "render_raw", "render_raw_json",
]

def go_time(time_nanos: int) -> str:
    """Return Go's ``time.Unix(0, ns).String()``: ``2006-01-02 15:04:05.5 -0700 MST``."""
    secs, frac = divmod(time_nanos, 1_000_000_000)
    dt = datetime.datetime.fromtimestamp(secs).astimezone()
    text = dt.strftime("%Y-%m-%d %H:%M:%S")
    if frac:
        text += f".{frac:09d}".rstrip("0")
    return f"{text} {dt.strftime('%z')} {dt.tzname()}"


def _frac(v: int, prec: int) -> Tuple[str, int]:
    digits = ""
    for _ in range(prec):
        digit = v % 10
        if digits or digit:
            digits = str(digit) + digits
        v //= 10
    return ("." + digits if digits else ""), v


def go_duration(nanos: int) -> str:
    """Return Go's ``time.Duration(nanos).String()`` (``1h2m3.5s``, ``1.5ms``, ``0s``)."""
    if nanos == 0:
        return "0s"
    sign = "-" if nanos < 0 else ""
    u = abs(nanos)
    if u < 1_000_000_000:
        if u < 1000:
            return f"{sign}{u}ns"
        prec, suffix = (3, "µs") if u < 1_000_000 else (6, "ms")
        frac, whole = _frac(u, prec)
        return f"{sign}{whole}{frac}{suffix}"
    frac, secs = _frac(u, 9)
    text = f"{secs % 60}{frac}s"
    mins = secs // 60
    if mins:
        text = f"{mins % 60}m" + text
        if mins // 60:
            text = f"{mins // 60}h" + text
    return sign + text


def _sample(s: Sample, ids: Sequence[int], value_format: str,
            loc_text: Dict[int, str]) -> List[str]:
    head = value_format % tuple(s.values)
    out = [head + "".join(map(loc_text.__getitem__, ids))]
    pad = " " * 16
    if s.labels:
        out.append(pad + " ".join(sorted(
            f"{term_safe(k)}:[{' '.join(map(term_safe, vs))}]" for k, vs in s.labels.items()
        )))
    if s.num_labels:
        parts = []
        for k, vs in s.num_labels.items():
            units = list(s.num_units.get(k) or ())
            if any(units):
                units += [""] * (len(vs) - len(units))
                text = " ".join(f"{v} {term_safe(u)}" for v, u in zip(vs, units))
            else:
                text = " ".join(str(v) for v in vs)
            parts.append(f"{term_safe(k)}:[{text}]")
        out.append(pad + " ".join(sorted(parts)))
    return out


def _location(loc: Location, new_id: int, mapping_ids: Dict[int, int]) -> List[str]:
    head = f"{new_id:6d}: {loc.address:#x} "
    if loc.mapping is not None:
        head += f"M={mapping_ids.get(id(loc.mapping), loc.mapping.id)} "
    if loc.is_folded:
        head += "[F] "
    if not loc.lines:
        return [head]
    out = []
    for ln in loc.lines:
        fn = ln.function
        name = display_name(fn.name, fn.system_name)
        text = f"{term_safe(name)} {term_safe(fn.filename)}:{ln.line} s={fn.start_line}"
        if name != fn.system_name:
            text += f"({term_safe(fn.system_name)})"
        out.append(head + text)
        head = " " * 13
    return out


def _mapping(m: Mapping, new_id: int) -> str:
    bits = "".join(flag for flag, on in (
        ("[FN]", m.has_functions), ("[FL]", m.has_filenames),
        ("[LN]", m.has_line_numbers), ("[IN]", m.has_inline_frames),
    ) if on)
    return (f"{new_id}: {m.memory_start:#x}/{m.memory_limit:#x}/{m.file_offset:#x} "
            f"{term_safe(m.filename)} {term_safe(m.build_id)} {bits}")


def _shown_labels(s: Sample, keep: Callable[[str], bool]) -> Sample:
    """Return ``s`` with only the label keys ``keep`` accepts (a new Sample if any go)."""
    if all(map(keep, s.labels)) and all(map(keep, s.num_labels)):
        return s
    return Sample(
        s.locations, s.values, {k: v for k, v in s.labels.items() if keep(k)},
        {k: v for k, v in s.num_labels.items() if keep(k)},
        {k: v for k, v in s.num_units.items() if keep(k)},
    )


def raw_header(p: Profile) -> List[str]:
    """Return the lines of ``p``'s raw text before its samples (comments ... sample types);
    only ``p``'s comments, period, times and sample types are read."""
    out = [f"Comment: {term_safe(c)}" for c in p.comments]
    if p.period_type is not None:
        out.append(f"PeriodType: {term_safe(p.period_type.type)} {term_safe(p.period_type.unit)}")
    out.append(f"Period: {p.period}")
    if p.time_nanos:
        out.append(f"Time: {go_time(p.time_nanos)}")
    if p.duration_nanos:
        out.append(f"Duration: {go_duration(p.duration_nanos)[:4]}")
    out.append("Samples:")
    out.append(" ".join(
        f"{term_safe(st.type)}/{term_safe(st.unit)}"
        + ("[dflt]" if st.type == p.default_sample_type else "")
        for st in p.sample_types
    ).strip())
    return out


def format_raw(
    p: Profile, order_of: Optional[StackTable] = None, merge_equal: bool = True,
    keep_label: Optional[Callable[[str], bool]] = None,
    kept_ids: Optional[Sequence[Sequence[int]]] = None, frames: Sequence[int] = (),
) -> str:
    """Return ``p`` as ``go tool pprof -raw`` prints it (see module doc, ``pprof_order``).

    ``keep_label`` (tagshow/taghide) drops label keys from the printed samples after
    they are ordered and summed, as pprof filters tags after merging. ``kept_ids``:
    the location ids of ``p.samples`` when the caller has them; ``frames``: the ids
    of the tagroot/tagleaf pseudo frames (``views.raw.label_frame_ids``).
    """
    out = raw_header(p)
    samples, sample_ids, locations, mappings, new_loc, new_map = pprof_order(
        p, order_of, merge_equal, kept_ids, frames)
    value_format = " %10d" * len(p.sample_types) + ": "
    loc_text = {lid: f"{new} " for lid, new in new_loc.items()}
    for s, ids in zip(samples, sample_ids):
        if keep_label is not None and (s.labels or s.num_labels):
            s = _shown_labels(s, keep_label)
        if s.labels or s.num_labels:
            out.extend(_sample(s, ids, value_format, loc_text))
        else:
            out.append(value_format % tuple(s.values) + "".join(map(loc_text.__getitem__, ids)))
    out.append("Locations")
    for loc in locations:
        out.extend(_location(loc, new_loc[loc.id], new_map))
    out.append("Mappings")
    for i, m in enumerate(mappings):
        out.append(_mapping(m, i + 1))
    return "\n".join(out) + "\n"


def render_raw(report: Report) -> str:
    """Return the filtered profile of ``report`` as ``go tool pprof -raw`` prints it."""
    o = report.request.options
    show = compile_regex("tagshow", getattr(o, "tagshow", "") or "")
    hide = compile_regex("taghide", getattr(o, "taghide", "") or "")
    keep: Optional[Callable[[str], bool]] = None
    if show is not None or hide is not None:
        def keep(key: str) -> bool:
            shown = show is None or show.search(key)
            return bool(shown and not (hide is not None and hide.search(key)))
    from profkit.render.raw_message_text import raw_from_message  # imports this module

    fast = raw_from_message(report, not (o.hide or o.show), keep)
    if fast is not None:
        return fast
    profile, built, ids = filtered_profile(report)
    order_of = built.loaded if built.loaded is not None else built.unfiltered
    merge_equal = built.loaded is None and not (o.hide or o.show)  # else merged on load
    return format_raw(profile, order_of, merge_equal, keep, ids,
                      label_frame_ids(built.loaded, built.unfiltered))


def render_raw_json(report: Report) -> str:
    """Return the filtered profile of ``report`` as JSON (names as in the profile)."""
    p = filtered_profile(report)[0]
    doc = {
        "comments": p.comments,
        "period_type": None if p.period_type is None else
        {"type": p.period_type.type, "unit": p.period_type.unit},
        "period": p.period,
        "time_nanos": p.time_nanos,
        "duration_nanos": p.duration_nanos,
        "default_sample_type": p.default_sample_type,
        "sample_types": [{"type": st.type, "unit": st.unit} for st in p.sample_types],
        "samples": [
            {"values": s.values, "locations": [loc.id for loc in s.locations],
             "labels": s.labels, "num_labels": s.num_labels, "num_units": s.num_units}
            for s in p.samples
        ],
        "locations": [
            {"id": loc.id, "address": loc.address,
             "mapping": loc.mapping.id if loc.mapping is not None else 0,
             "folded": loc.is_folded,
             "lines": [{"function": ln.function.name, "system_name": ln.function.system_name,
                        "file": ln.function.filename, "line": ln.line,
                        "start_line": ln.function.start_line} for ln in loc.lines]}
            for loc in p.locations
        ],
        "mappings": [
            {"id": m.id, "start": m.memory_start, "limit": m.memory_limit,
             "offset": m.file_offset, "file": m.filename, "build_id": m.build_id}
            for m in p.mappings
        ],
    }
    return json.dumps(doc, indent=1) + "\n"
