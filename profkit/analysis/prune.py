"""Frame pruning with pprof's semantics (``profile/prune.go``).

* ``remove_uninteresting(t, drop, keep)``: a profile's own ``drop_frames`` /
  ``keep_frames`` (``Profile.RemoveUninteresting``, which ``go tool pprof`` applies
  on every load): the patterns are anchored (``^(RE)$``) and matched against each
  line's simplified function name. A location whose outermost lines match loses
  them and everything it called; scanning each sample from the root, the frames
  below the first match after the first "user" frame are dropped.
* ``prune_from(stacks, lines, rx)``: the ``prune_from`` option (``PruneFrom``):
  each location keeps its lines from the innermost matching one, and each sample
  drops the frames below its innermost matching location.

Both take and return plain data (stacks leaf first, lines innermost first) and
never modify their inputs.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

from profkit.analysis.stacks import LineInfo, StackTable
from profkit.options.regex import Pattern, compile_pattern

__all__ = ["prune_from", "remove_uninteresting", "simplify_func"]

Lines = Dict[int, Tuple[LineInfo, ...]]
_RESERVED = ("(anonymous namespace)", "operator()")


def simplify_func(name: str) -> str:
    """pprof's ``simplifyFunc``: drop a leading '.' and an argument list ``(...)``."""
    name = name[1:] if name.startswith(".") else name
    i = 0
    while True:
        at = name.find("(", i)
        if at < 0:
            return name
        for res in _RESERVED:
            if name.startswith(res, at):
                i = at + len(res)
                break
        else:
            return name[:at]


def prune_from(
    stacks: Sequence[Sequence[int]], lines: Lines, rx: Pattern
) -> Tuple[List[Sequence[int]], Lines]:
    """Return (stacks, lines) with pprof's ``PruneFrom(rx)`` applied (see module doc)."""
    new_lines = dict(lines)
    beneath: Set[int] = set()
    for lid, lns in lines.items():
        for i, ln in enumerate(lns):
            if ln[0] and rx.search(simplify_func(ln[0])):
                beneath.add(lid)
                new_lines[lid] = lns[i:]
                break
    out: List[Sequence[int]] = []
    for stack in stacks:
        for i, lid in enumerate(stack):
            if lid in beneath:
                stack = stack[i:]
                break
        out.append(stack)
    return out, new_lines


def compile_frames(drop_frames: str, keep_frames: str) -> Tuple[Optional[Pattern], Optional[Pattern]]:
    """Compile a profile's drop/keep frames as pprof does (anchored); InputError if bad."""
    if not drop_frames:
        return None, None
    drop = compile_pattern("drop_frames", f"^({drop_frames})$")
    keep = compile_pattern("keep_frames", f"^({keep_frames})$") if keep_frames else None
    return drop, keep


def remove_uninteresting(
    t: StackTable, drop: Optional[Pattern], keep: Optional[Pattern]
) -> StackTable:
    """Return ``t`` with the frames ``drop`` (minus ``keep``) prunes removed (module doc)."""
    if drop is None:
        return t
    prune: Set[int] = set()
    beneath: Set[int] = set()
    new_lines = dict(t.loc_lines)
    for lid, lns in t.loc_lines.items():
        i = len(lns) - 1
        while i >= 0:
            name = lns[i][0]
            if name:
                simple = simplify_func(name)
                if drop.search(simple) and (keep is None or not keep.search(simple)):
                    break
            i -= 1
        if i >= 0:
            beneath.add(lid)
            if i == len(lns) - 1:
                prune.add(lid)
            else:
                new_lines[lid] = lns[i + 1:]
    if not beneath:
        return t
    stacks: List[Sequence[int]] = []
    for stack in t.stacks:
        found_user = False
        for i in range(len(stack) - 1, -1, -1):
            lid = stack[i]
            if lid not in prune and lid not in beneath:
                found_user = True
                continue
            if not found_user:
                continue
            stack = stack[i + 1:] if lid in prune else stack[i:]
            break
        stacks.append(stack)
    out = t.with_samples(range(len(t.stacks)), stacks)
    out.loc_lines = new_lines
    return out
