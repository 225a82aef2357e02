"""The callgrind file ``go tool pprof -callgrind`` writes (opens in KCachegrind/QCachegrind).

``positions: instr line``, ``events: TYPE(UNIT)`` (the unit of the smallest non-
zero node value, values truncated to integers in it), then per node its cost
line ``ADDRESS LINE SELF`` under ``ob=``/``fl=``/``fn=`` (repeated only when the
mapping, file or function changes), and per callee ``cfl=``, ``cfn=``,
``calls=0 ADDRESS LINE`` and ``* * INCLUSIVE`` (with ``-mean``, self costs are
means and inclusive costs sums, as pprof writes them). Names use callgrind's compression
(``(N) name`` the first time, ``(N)`` after); addresses are relative (``+16``,
``*``) when that is shorter. Names are written as they are: this is a file for
other tools, never printed to a terminal by profkit.
"""

from __future__ import annotations

from typing import Dict, List, Optional

from profkit.analysis.measurement import scale
from profkit.report import Report
from profkit.views.callgrind import CallgrindNode, CallgrindView, callgrind_from_report

__all__ = ["format_callgrind", "render"]


def _name(names: Dict[str, int], name: str) -> str:
    if not name:
        return ""
    got = names.get(name)
    if got is not None:
        return f"({got})"
    names[name] = len(names) + 1
    return f"({len(names)}) {name}"


def _address(prev: Optional[CallgrindNode], addr: int) -> str:
    absolute = f"{addr:#x}"
    if prev is None:
        return absolute
    if prev.address == addr:
        return "*"
    diff = (addr - prev.address + (1 << 63)) % (1 << 64) - (1 << 63)  # Go's int64(uint64 - uint64)
    relative = f"{diff:+d}"
    return relative if len(relative) < len(absolute) else absolute


def output_unit(v: CallgrindView, unit: str = "minimum") -> str:
    """Return the unit pprof writes the costs in (``selectOutputUnit`` for callgrind)."""
    if unit != "minimum":
        return unit
    if not v.listed:
        return "minimum"
    min_value = 0
    for n in v.nodes[:v.listed]:
        m = abs(n.self_cost) or abs(n.cum_cost)
        if m > 0 and (min_value == 0 or m < min_value):
            min_value = m
    if min_value == 0:
        min_value = v.total
    _, unit = scale(min_value, v.sample_unit, "minimum")
    return unit or v.sample_unit


def format_callgrind(v: CallgrindView, unit_option: str = "minimum") -> str:
    """Return ``v`` in callgrind's format (see module doc), costs in ``unit_option``."""
    unit = output_unit(v, unit_option)
    out: List[str] = ["positions: instr line", f"events: {v.sample_type}({unit})"]
    objfiles: Dict[str, int] = {}
    files: Dict[str, int] = {}
    names: Dict[str, int] = {}
    prev: Optional[CallgrindNode] = None

    costs: Dict[int, int] = {}

    def cost(value: int) -> int:
        c = costs.get(value)
        if c is None:
            c = costs[value] = int(scale(value, v.sample_unit, unit)[0])
        return c

    for n in v.nodes[:v.listed]:
        if prev is None or (n.objfile, n.file, n.name) != (prev.objfile, prev.file, prev.name):
            out.append("")
            out.append("ob=" + _name(objfiles, n.objfile))
            out.append("fl=" + _name(files, n.file))
            out.append("fn=" + _name(names, n.name))
        out.append(f"{_address(prev, n.address)} {n.line} {cost(n.self_cost)}")
        for d, w in n.out.items():
            callee = v.nodes[d]
            out.append("cfl=" + _name(files, callee.file))
            out.append("cfn=" + _name(names, v.callee_names[d]))
            out.append(f"calls=0 {_address(prev, callee.address)} {callee.line}")
            out.append(f"* * {cost(w)}")
        prev = n
    return "\n".join(out) + "\n"


def render(report: Report) -> str:
    """Return ``report``'s call graph as a callgrind file."""
    unit = getattr(report.request.options, "unit", "minimum") or "minimum"
    return format_callgrind(callgrind_from_report(report), unit)
