"""Source file names as pprof shows and finds them: ``-trim_path`` and ``-source_path``.

pprof cleans the file names of every function before it builds a graph report
(``internal/report``'s ``newGraph`` calls ``trimPath``): ``top``/``tree``/``peek``/
``dot``/``list``/``callgrind`` at ``files``/``lines`` granularity, and the viewer's
views, print ``main.go`` for ``/proc/self/cwd/./main.go``. ``traces`` does not
(``printTraces`` reads the profile's names as they are). ``list`` then opens the
file the way ``openSourceFile`` does.

``trim_path(path, trim, search)``:

* with no ``trim`` given, the first ``search`` directory whose base name occurs in
  ``path`` as ``/name/`` cuts ``path`` after it (``/build/proj/a/b.py`` is ``a/b.py``
  when searching ``~/src/proj``);
* else, and then, the first of ``trim``'s prefixes (``os.pathsep``-separated), then
  ``/proc/self/cwd/./`` and ``/proc/self/cwd/``, that starts ``path`` is cut off.

``find_source(path, search, trim)``: the trimmed name if it is absolute (it must
exist), else the first existing ``dir/name`` for each ``search`` directory and each
of its parents. ``search`` defaults to the current directory for ``list``; for
display names it is the ``-source_path`` given, possibly empty (as in pprof).
"""

from __future__ import annotations

import os
import posixpath
from functools import cache
from typing import Callable, List, Optional

__all__ = ["FileNamer", "clean_path", "find_source", "graph_file_namer", "trim_path"]

#: Turns a profile's file name into the one a report shows.
FileNamer = Callable[[str], str]

_ALWAYS = ("/proc/self/cwd/./", "/proc/self/cwd/")


def clean_path(path: str) -> str:
    """Return ``path`` cleaned like Go's ``filepath.Clean`` ("" stays "")."""
    if not path:
        return path
    out = posixpath.normpath(path)
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def _split(paths: str) -> List[str]:
    """Go's ``filepath.SplitList``: "" is no path at all."""
    return paths.split(os.pathsep) if paths else []


def trim_path(path: str, trim: str = "", search: str = "") -> str:
    """Return ``path`` with pprof's prefixes removed (see module doc)."""
    if not trim:
        for d in _split(search):
            want = "/" + posixpath.basename(d) + "/"
            found = path.find(want)
            if found != -1:
                return path[found + len(want):]
    for prefix in (*_split(trim), *_ALWAYS):
        if not prefix.endswith("/"):
            prefix += "/"
        if path.startswith(prefix):
            return path[len(prefix):]
    return path


def find_source(path: str, search: str = "", trim: str = "") -> Optional[str]:
    """Return where pprof's ``openSourceFile`` finds ``path`` on disk, or None.

    ``search`` (``-source_path``, ``os.pathsep``-separated) defaults to the current
    directory; each directory and its parents are tried in turn.
    """
    search = search or os.getcwd()
    path = trim_path(path, trim, search)
    if os.path.isabs(path):
        return path if os.path.isfile(path) else None
    for d in _split(search):
        d = os.path.abspath(d)
        while True:
            candidate = os.path.join(d, path)
            if os.path.isfile(candidate):
                return candidate
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    return None


def graph_file_namer(trim: str = "", search: str = "") -> FileNamer:
    """Return the file naming of pprof's graph reports for ``-trim_path``/``-source_path``:
    ``trim_path`` then Go's ``filepath.Clean``, cached per name."""

    @cache
    def name(path: str) -> str:
        return clean_path(trim_path(path, trim, search)) if path else path

    return name
