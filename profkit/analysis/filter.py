"""Sample filters with pprof's semantics (``FilterSamplesByName``, ``FilterSamplesByTag``).

* focus / ignore: a location matches when the regex matches (unanchored) a line's
  function name or file name, or the location's mapping file. A sample is kept if
  some location matches focus (or focus is unset) and none matches ignore.
* hide / show: remove the matching lines / keep only the matching lines of each
  location; a location left without lines leaves the stack, a sample left without
  locations is dropped.
* tagfocus / tagignore: pprof's label syntax (see ``compile_tag_filter``); a sample
  matched by both is dropped.

``filter_table`` works on a StackTable and returns a new one; the input is unchanged.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Pattern, Sequence, Set, Tuple

from profkit.analysis.measurement import scale
from profkit.analysis.stacks import LineInfo, StackTable
from profkit.errors import InputError, ProfileFormatError
from profkit.options import ViewOptions

__all__ = [
    "TagMatcher", "compile_regex", "compile_tag_filter", "filter_table", "label_unit",
    "select_samples",
]

#: (string labels, numeric labels, numeric units) -> bool
TagMatcher = Callable[[Dict[str, List[str]], Dict[str, List[int]], Dict[str, List[str]]], bool]
_RANGE = re.compile(r"([+-]?\d+)([a-zA-Z]+)?")


def compile_regex(name: str, value: str) -> Optional[Pattern[str]]:
    """Compile an option's regex; None when unset; InputError (one line) when invalid."""
    if not value:
        return None
    try:
        return re.compile(value)
    except re.error as e:
        raise InputError(f"parsing {name} regexp {value!r}: {e}") from None


def label_unit(key: str, units: Dict[str, List[str]]) -> str:
    """Return the unit of numeric label ``key`` (pprof's rule when none is recorded)."""
    got = units.get(key)
    if got and got[0]:
        return got[0]
    if key in ("request", "alignment"):
        return "bytes"
    return key


def _range_filter(value: str) -> Optional[Callable[[int, str], bool]]:
    ranges = [(m.group(0), m.group(1), m.group(2) or "") for m in _RANGE.finditer(value)][:2]
    if not ranges:
        return None
    lo_text, lo_num, lo_unit = ranges[0]
    lo, unit = scale(int(lo_num), lo_unit, lo_unit)

    def conv(v: int, u: str) -> Tuple[float, str]:
        return scale(v, u, unit)

    if len(ranges) == 1:
        if value == lo_text:
            return lambda v, u: conv(v, u)[1] == unit and conv(v, u)[0] == lo
        if value == lo_text + ":":
            return lambda v, u: conv(v, u)[1] == unit and conv(v, u)[0] >= lo
        if value == ":" + lo_text:
            return lambda v, u: conv(v, u)[1] == unit and conv(v, u)[0] <= lo
        return None
    hi_text, hi_num, hi_unit = ranges[1]
    if value != lo_text + ":" + hi_text:
        return None
    hi, unit2 = scale(int(hi_num), hi_unit, unit)
    if unit2 != unit:
        return None
    return lambda v, u: conv(v, u)[1] == unit and lo <= conv(v, u)[0] <= hi


def compile_tag_filter(name: str, value: str) -> Optional[TagMatcher]:
    """Compile a tagfocus/tagignore value in pprof's syntax; None when unset.

    ``key=value`` restricts to one key; a numeric range (``128kb:512kb``, ``5:``,
    ``:10ms``, ``64``) matches numeric labels; otherwise comma-separated regexes:
    without a key each must match some ``key:value``; with a key any may match.
    Raises InputError on a bad regex.
    """
    if not value:
        return None
    want_key = ""
    if "=" in value:
        want_key, value = value.split("=", 1)
    numeric = _range_filter(value)
    if numeric is not None:
        num = numeric

        def any_num(vals: Sequence[int], unit: str) -> bool:
            return any(num(v, unit) for v in vals)

        if not want_key:
            return lambda s, n, u: any(any_num(vs, label_unit(k, u)) for k, vs in n.items())
        return lambda s, n, u: want_key in n and any_num(n[want_key], label_unit(want_key, u))
    rxs = []
    for part in value.split(","):
        try:
            rxs.append(re.compile(part))
        except re.error as e:
            raise InputError(f"parsing {name} regexp {part!r}: {e}") from None
    if not want_key:
        return lambda s, n, u: all(
            any(rx.search(f"{k}:{v}") for k, vs in s.items() for v in vs) for rx in rxs
        )
    return lambda s, n, u: want_key in s and any(
        rx.search(v) for rx in rxs for v in s[want_key]
    )


def _matches(rx: Pattern[str], lines: Sequence[LineInfo], mapfile: str) -> bool:
    for ln in lines:
        if rx.search(ln[0]) or rx.search(ln[1]):
            return True
    return bool(mapfile) and rx.search(mapfile) is not None


def filter_table(t: StackTable, options: ViewOptions) -> StackTable:
    """Return ``t`` with options' focus/ignore/hide/show/tag filters applied (new table)."""
    keep, stacks, lines = select_samples(t, options)
    if keep is None:
        return t
    out = t.with_samples(keep, stacks)
    out.loc_lines = lines
    return out


Selection = Tuple[Optional[List[int]], List[Sequence[int]], Dict[int, Tuple[LineInfo, ...]]]


def select_samples(t: StackTable, options: ViewOptions) -> Selection:
    """Return (kept sample indexes or None for all, their new stacks, new location lines)."""
    focus = compile_regex("focus", options.focus)
    ignore = compile_regex("ignore", options.ignore)
    hide = compile_regex("hide", options.hide)
    show = compile_regex("show", options.show)
    tagfocus = compile_tag_filter("tagfocus", options.tagfocus)
    tagignore = compile_tag_filter("tagignore", options.tagignore)
    indexes: Sequence[int] = range(len(t.stacks))
    if tagfocus or tagignore:
        indexes = _filter_tags(t, tagfocus, tagignore)
    if not (focus or ignore or hide or show):
        if tagfocus or tagignore:
            return list(indexes), [t.stacks[i] for i in indexes], t.loc_lines
        return None, t.stacks, t.loc_lines
    # location id -> focused (True) / ignored (False) / neither (None)
    decision: Dict[int, Optional[bool]] = dict.fromkeys(t.loc_lines)
    new_lines: Dict[int, Tuple[LineInfo, ...]] = {}
    hidden: Set[int] = set()
    for lid, lines in t.loc_lines.items():
        mapfile = t.loc_mapfile.get(lid, "")
        if ignore is not None and _matches(ignore, lines, mapfile):
            decision[lid] = False
        elif focus is None or _matches(focus, lines, mapfile):
            decision[lid] = True
        kept = lines
        if hide is not None and _matches(hide, kept, mapfile):
            if mapfile and hide.search(mapfile):
                kept = ()
            else:
                kept = tuple(ln for ln in kept if not (hide.search(ln[0]) or hide.search(ln[1])))
            if not kept:
                hidden.add(lid)
        if show is not None:
            if not (mapfile and show.search(mapfile)):
                kept = tuple(ln for ln in kept if show.search(ln[0]) or show.search(ln[1]))
            if not kept:
                hidden.add(lid)
        new_lines[lid] = kept
    keep: List[int] = []
    stacks: List[Sequence[int]] = []
    all_stacks = t.stacks
    for i in indexes:
        stack = all_stacks[i]
        focused = False
        for lid in stack:
            if lid not in decision:
                raise ProfileFormatError("malformed profile: sample has nil location")
            d = decision[lid]
            if d is False:
                break
            if d:
                focused = True
        else:
            if not focused:
                continue
            if hidden:
                stack = [lid for lid in stack if lid not in hidden]
                if not stack:
                    continue
            keep.append(i)
            stacks.append(stack)
    return keep, stacks, new_lines


def _filter_tags(
    t: StackTable, focus: Optional[TagMatcher], ignore: Optional[TagMatcher]
) -> List[int]:
    if t.labels is None or t.num_labels is None or t.num_units is None:
        raise ValueError("tag filters need a StackTable built with labels")
    keep = []
    for i, (s, n, u) in enumerate(zip(t.labels, t.num_labels, t.num_units)):
        if (focus is None or focus(s, n, u)) and not (ignore is not None and ignore(s, n, u)):
            keep.append(i)
    return keep
