"""``tags`` as ``go tool pprof -tags`` prints it (Go's right-aligned tabwriter table).

Per key, a block: ``key: Total 12.0ms`` then one row per value,
``12.0ms (  100%): value``; the first column is right-aligned over the block,
then the value column over the block's value rows; a blank line ends the block.
Totals and values use pprof's ``minimum`` unit with one decimal. Names pass
through ``term_safe``.
"""

from __future__ import annotations

import json
from typing import List

from profkit.analysis.measurement import percentage, scale
from profkit.render.termsafe import term_safe
from profkit.report import Report
from profkit.views.tags import TagsView, tags_from_report

__all__ = ["format_tags", "render_tags", "render_tags_json"]


def _amount(v: int, unit: str, out_unit: str = "minimum") -> str:
    f, u = scale(v, unit, out_unit)
    return f"{f:.1f}{u}"


def format_tags(v: TagsView) -> str:
    """Return ``v`` as ``go tool pprof -tags`` prints it."""
    out: List[str] = []
    unit = v.sample_unit
    for k in v.keys:
        key = term_safe(k.key) + ":"
        cells = []
        for name, c in k.values:
            share = f" ({percentage(c, k.total)})" if k.total > 0 else ""
            cells.append((_amount(c, unit, v.output_unit) + share + ":", term_safe(name)))
        w0 = max(len(key), 1 if cells else 0) + 1
        w1 = max((len(c) for c, _n in cells), default=0) + 1
        out.append(f"{key:>{w0}} Total {_amount(k.total, unit, v.output_unit)}")
        out.extend(f"{' ':>{w0}}{cell:>{w1}} {name}" for cell, name in cells)
        out.append("")
    return "".join(line + "\n" for line in out)


def render_tags(report: Report) -> str:
    """Return the tags report of ``report`` as text."""
    return format_tags(tags_from_report(report))


def render_tags_json(report: Report) -> str:
    """Return the tags report of ``report`` as JSON (names as in the profile)."""
    return json.dumps(tags_from_report(report).to_dict(), indent=1) + "\n"
