"""Sample filters with pprof's semantics, applied in pprof's order (``applyFocus``).

1. focus / ignore / hide / show (``FilterSamplesByName``): a location matches when
   the regex matches (unanchored) a line's function name or file name, or the
   location's mapping file. A sample is kept if some location matches focus (or
   focus is unset) and none matches ignore; hide removes the matching lines, show
   keeps only the matching lines; a sample left without locations is dropped.
2. show_from (``ShowFrom``): each location keeps its lines up to the outermost
   matching one (all of them when the mapping file matches); each sample keeps its
   frames up to the outermost matching location; samples with none are dropped.
3. tagfocus / tagignore (``FilterSamplesByTag``): pprof's label syntax (see
   ``compile_tag_filter``); a sample matched by both is dropped.
4. tagshow / taghide (``FilterTagsByName``): labels whose key is not shown or is
   hidden are removed (when the table keeps labels).
5. prune_from (``PruneFrom``): each location keeps its lines from the innermost
   line whose (simplified) function name matches; each sample drops the frames
   below the innermost matching location.

Patterns use pprof's dialect (``profkit.options.regex``). ``filter_table`` works on
a StackTable and returns a new one; the input is unchanged.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from profkit.analysis.measurement import scale
from profkit.analysis.prune import prune_from
from profkit.analysis.stacks import LineInfo, StackTable
from profkit.errors import ProfileFormatError
from profkit.options import ViewOptions
from profkit.options.regex import Pattern, compile_optional, compile_pattern

__all__ = [
    "TagMatcher", "compile_regex", "compile_tag_filter", "filter_table", "label_unit",
    "select_samples",
]

#: (string labels, numeric labels, numeric units) -> bool
TagMatcher = Callable[[Dict[str, List[str]], Dict[str, List[int]], Dict[str, List[str]]], bool]
_RANGE = re.compile(r"([+-]?[0-9]+)([a-zA-Z]+)?")  # pprof: [[:digit:]], [[:alpha:]]
Lines = Dict[int, Tuple[LineInfo, ...]]


def compile_regex(name: str, value: str) -> Optional[Pattern]:
    """Compile an option's regex (pprof's dialect); None when unset; InputError if bad."""
    return compile_optional(name, value)


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
        rxs.append(compile_pattern(name, part))
    if not want_key:
        return lambda s, n, u: all(
            any(rx.search(f"{k}:{v}") for k, vs in s.items() for v in vs) for rx in rxs
        )
    return lambda s, n, u: want_key in s and any(
        rx.search(v) for rx in rxs for v in s[want_key]
    )


def _matches(rx: Pattern, lines: Sequence[LineInfo], mapfile: str) -> bool:
    for ln in lines:
        if rx.search(ln[0]) or rx.search(ln[1]):
            return True
    return bool(mapfile) and bool(rx.search(mapfile))


def _strings(t: StackTable) -> Dict[str, bytes]:
    """Every function name, file name and mapping file of ``t``'s locations, encoded."""
    out: Set[str] = set(t.loc_mapfile.values())
    for lines in t.loc_lines.values():
        for ln in lines:
            out.add(ln[0])
            out.add(ln[1])
    return {text: text.encode("utf-8", "surrogatepass") for text in out}


class _Hits:
    """A pattern answered from the set of ``strings`` it matches (each matched once)."""

    __slots__ = ("search",)

    def __init__(self, rx: Pattern, strings: Dict[str, bytes]) -> None:
        matching = getattr(rx, "matching", None)
        hits = matching(strings) if matching else {text for text in strings if rx.search(text)}
        self.search = hits.__contains__


def filter_table(t: StackTable, options: ViewOptions) -> StackTable:
    """Return ``t`` with every filter of ``options`` applied (a new table; see module doc)."""
    keep, stacks, lines = select_samples(t, options)
    out = t if keep is None else t.with_samples(keep, stacks)
    if lines is not t.loc_lines:
        if out is t:
            out = t.with_samples(range(len(t.stacks)), stacks)
        out.loc_lines = lines
    if (options.tagshow or options.taghide) and out.labels is not None:
        out = _filter_tag_names(out, options)
    return out


Selection = Tuple[Optional[List[int]], List[Sequence[int]], Lines]


def select_samples(t: StackTable, options: ViewOptions) -> Selection:
    """Return (kept sample indexes or None for all, their new stacks, new location lines).

    Applies the sample and frame filters of the module doc (all but tagshow/taghide,
    which change labels only), in pprof's order.
    """
    focus = compile_optional("focus", options.focus)
    ignore = compile_optional("ignore", options.ignore)
    hide = compile_optional("hide", options.hide)
    show = compile_optional("show", options.show)
    show_from = compile_optional("show_from", options.show_from)
    prune = compile_optional("prune_from", options.prune_from)
    tagfocus = compile_tag_filter("tagfocus", options.tagfocus)
    tagignore = compile_tag_filter("tagignore", options.tagignore)
    keep: Optional[List[int]] = None
    stacks: List[Sequence[int]] = t.stacks
    lines: Lines = t.loc_lines
    if focus or ignore or hide or show or show_from:
        strings = _strings(t)
        focus, ignore, hide, show, show_from = (
            _Hits(rx, strings) if rx is not None else None
            for rx in (focus, ignore, hide, show, show_from)
        )
    if focus or ignore or hide or show:
        keep, stacks, lines = _by_name(t, focus, ignore, hide, show)
    if show_from is not None:
        keep, stacks, lines = _show_from(keep, stacks, lines, t.loc_mapfile, show_from)
    if tagfocus or tagignore:
        indexes = range(len(t.stacks)) if keep is None else keep
        chosen = set(_filter_tags(t, tagfocus, tagignore))
        picked = [j for j, i in enumerate(indexes) if i in chosen]
        keep = [indexes[j] for j in picked]
        stacks = [stacks[j] for j in picked]
    if prune is not None:
        stacks, lines = prune_from(stacks, lines, prune)
    return keep, stacks, lines


def _by_name(
    t: StackTable, focus: Optional[Pattern], ignore: Optional[Pattern],
    hide: Optional[Pattern], show: Optional[Pattern],
) -> Selection:
    # location id -> focused (True) / ignored (False) / neither (None)
    decision: Dict[int, Optional[bool]] = dict.fromkeys(t.loc_lines)
    new_lines: Lines = {}
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
    # A sample is kept when no location is ignored and some location is focused
    # (every location that is not ignored, when focus is unset); set operations keep
    # the per-frame work in C.
    known = set(decision)
    ignored = {lid for lid, d in decision.items() if d is False}
    focused = {lid for lid, d in decision.items() if d}
    keep: List[int] = []
    stacks: List[Sequence[int]] = []
    for i, stack in enumerate(t.stacks):
        if not known.issuperset(stack):
            raise ProfileFormatError("malformed profile: sample has nil location")
        if (ignored and not ignored.isdisjoint(stack)) or focused.isdisjoint(stack):
            continue
        if hidden and not hidden.isdisjoint(stack):
            stack = [lid for lid in stack if lid not in hidden]
            if not stack:
                continue
        keep.append(i)
        stacks.append(stack)
    return keep, stacks, new_lines


def _show_from(
    keep: Optional[List[int]], stacks: List[Sequence[int]], lines: Lines,
    mapfiles: Dict[int, str], rx: Pattern,
) -> Selection:
    """pprof's ``ShowFrom``: see module doc, step 2."""
    new_lines = dict(lines)
    matched: Set[int] = set()
    for lid, lns in lines.items():
        mapfile = mapfiles.get(lid, "")
        if mapfile and rx.search(mapfile):
            matched.add(lid)
            continue
        for i in range(len(lns) - 1, -1, -1):
            if rx.search(lns[i][0]) or rx.search(lns[i][1]):
                new_lines[lid] = lns[: i + 1]
                matched.add(lid)
                break
    indexes: Sequence[int] = range(len(stacks)) if keep is None else keep
    out_keep: List[int] = []
    out_stacks: List[Sequence[int]] = []
    for i, stack in zip(indexes, stacks):
        if matched.isdisjoint(stack):
            continue
        for j in range(len(stack) - 1, -1, -1):
            if stack[j] in matched:
                out_keep.append(i)
                out_stacks.append(stack[: j + 1])
                break
    return out_keep, out_stacks, new_lines


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


def _filter_tag_names(t: StackTable, options: ViewOptions) -> StackTable:
    """pprof's ``FilterTagsByName``: keep labels whose key matches tagshow, not taghide."""
    show = compile_optional("tagshow", options.tagshow)
    hide = compile_optional("taghide", options.taghide)
    verdict: Dict[str, bool] = {}

    def kept(key: str) -> bool:
        v = verdict.get(key)
        if v is None:
            v = (show is None or bool(show.search(key))) and not (
                hide is not None and hide.search(key)
            )
            verdict[key] = v
        return v

    out = t.with_samples(range(len(t.stacks)), t.stacks)
    assert t.labels is not None and t.num_labels is not None and t.num_units is not None
    out.labels = [{k: v for k, v in d.items() if kept(k)} for d in t.labels]
    out.num_labels = [{k: v for k, v in d.items() if kept(k)} for d in t.num_labels]
    out.num_units = [{k: v for k, v in d.items() if kept(k)} for d in t.num_units]
    return out
