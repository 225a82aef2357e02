"""``aggregate``: pprof's ``Profile.Aggregate`` for a report granularity.

``functions`` keeps function names only; ``filefunctions`` names and files;
``files`` files only; ``lines`` names, files and line numbers. Addresses and
columns are dropped. Returns a new, compacted profile; the input is unchanged.
"""

from __future__ import annotations

from profkit.analysis.merge import compact
from profkit.model.profile import Profile

__all__ = ["aggregate"]

_KEEP = {
    "functions": (True, False, False),
    "filefunctions": (True, True, False),
    "files": (False, True, False),
    "lines": (True, True, True),
}


def aggregate(p: Profile, granularity: str) -> Profile:
    """Return ``p`` reduced to ``granularity`` (see module doc); ValueError if unknown."""
    try:
        function, filename, lineno = _KEEP[granularity]
    except KeyError:
        raise ValueError(f"unknown granularity {granularity!r}") from None
    out = p.copy()
    for m in out.mappings:
        m.has_functions = m.has_functions and function
        m.has_filenames = m.has_filenames and filename
        m.has_line_numbers = m.has_line_numbers and lineno
    for f in out.functions:
        if not function:
            f.name = f.system_name = ""
        if not filename:
            f.filename = ""
    for loc in out.locations:
        loc.address = 0
        for ln in loc.lines:
            ln.column = 0
            if not lineno:
                ln.line = 0
    return compact(out)
