"""Function names as ``go tool pprof`` displays and matches them.

pprof's symbolizer rewrites a name that "looks like demangled C++" (contains
``<>[]`` or ``::`` but not ``.<`` or ``]).``) by removing ``(...)`` and ``<...>``
groups, so ``<module>`` becomes empty. Reports, filters and sorting use the
rewritten name; profkit does the same so its numbers line up with pprof's.
"""

from __future__ import annotations

__all__ = ["display_name"]

#: the characters that make a name "look like C++" (with ``::``)
_CPP_CHARS = "<>[]"


def _remove_matching(name: str, start: str, end: str) -> str:
    nesting = 0
    first = 0
    i = 0
    while i < len(name):
        c = name[i]
        if c == start:
            nesting += 1
            if nesting == 1:
                first = i
        elif c == end:
            nesting -= 1
            if nesting < 0:
                return name  # mismatch: leave it alone
            if nesting == 0:
                name = name[:first] + name[i + 1:]
                i = first - 1
        i += 1
    return name


def display_name(name: str, system_name: str = "") -> str:
    """Return the function name pprof shows for (``name``, ``system_name``)."""
    if name and system_name != name:
        return name
    n = system_name
    if ".<" in n or "]). " in n or "])." in n:
        return n
    # substring tests run in C; _CPP_CHARS.isdisjoint(n) hashed every character
    if "::" in n or "<" in n or ">" in n or "[" in n or "]" in n:
        n = _remove_matching(n, "(", ")")
        n = _remove_matching(n, "<", ">")
    return n
