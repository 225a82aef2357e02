"""Report nodes: how a location's lines map to rows at each granularity (pprof's
``graph.NodeInfo``), and the names pprof prints for them."""

from __future__ import annotations

import posixpath
from typing import Dict, List, Optional, Tuple

from profkit.analysis.stacks import LineInfo, StackTable
from profkit.views.paths import FileNamer, clean_path, graph_file_namer

__all__ = ["NodeKey", "assign_nodes", "clean_path", "name_parts", "printable_name"]

#: (name, file, line, objfile, start_line, address); unused parts are "" / 0. The
#: address is kept only at the ``addresses`` granularity.
NodeKey = Tuple[str, str, int, str, int, int]


def _key(info: LineInfo, objfile: str, granularity: str, file_name: FileNamer,
         address: int = 0) -> NodeKey:
    name, filename, line, start_line = info
    if granularity == "files":
        name = ""
    keep_file = granularity != "functions"
    file = file_name(filename) if keep_file else ""
    lineno = line if granularity in ("lines", "addresses") else 0
    if name:
        return (name, file, lineno, "", 0, address)
    return (name, file, lineno, objfile, start_line, address)


def name_parts(key: NodeKey, *, file_basename: bool = False) -> List[str]:
    """Return the parts of a node's printed name: function, then file:line or file.

    A node with neither name nor file is its mapping (``[objfile]``) or ``<unknown>``,
    as pprof's ``NodeInfo.NameComponents``; ``file_basename`` keeps only the base name.
    """
    name, file, lineno, objfile, _start, address = key
    if file and file_basename:
        file = posixpath.basename(file)
    parts: List[str] = [f"{address:016x}"] if address else []
    if name:
        parts.append(name)
    if lineno:
        parts.append(f"{file}:{lineno}")
    elif file:
        parts.append(file)
    elif name:
        pass
    elif objfile:
        parts.append("[" + posixpath.basename(objfile) + "]")
    else:
        parts.append("<unknown>")
    return parts


def printable_name(key: NodeKey) -> str:
    """Return the row name pprof prints for a node (``NodeInfo.PrintableName``)."""
    return " ".join(name_parts(key))


def assign_nodes(
    t: StackTable, granularity: str, file_name: Optional[FileNamer] = None
) -> Tuple[Dict[int, Tuple[int, ...]], List[NodeKey]]:
    """Return (location id -> node indexes, innermost line first; node keys by index).

    ``file_name`` names the files of nodes (``files``/``lines`` granularities); the
    default is pprof's graph naming without options (``paths.graph_file_namer``).
    """
    if file_name is None:
        file_name = graph_file_namer()
    index: Dict[NodeKey, int] = {}
    keys: List[NodeKey] = []
    loc_nodes: Dict[int, Tuple[int, ...]] = {}
    empty: Tuple[LineInfo, ...] = (("", "", 0, 0),)
    addresses = t.loc_address if granularity == "addresses" else {}
    for lid, lines in t.loc_lines.items():
        objfile = t.loc_mapfile.get(lid, "")
        address = addresses.get(lid, 0)
        ids = []
        for info in lines or empty:
            k = _key(info, objfile, granularity, file_name, address)
            n = index.get(k)
            if n is None:
                n = index[k] = len(keys)
                keys.append(k)
            ids.append(n)
        loc_nodes[lid] = tuple(ids)
    return loc_nodes, keys
