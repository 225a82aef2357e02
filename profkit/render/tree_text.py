"""Text and JSON renderers of ``tree`` and ``peek``, byte-identical to ``go tool pprof``.

Text: the header lines of ``top`` (``render.text.top_labels``), then, per node, a
separator line, its callers (weight, share of the node's cum, name), the node's own
row (flat, flat%, sum%, cum, cum%) and its callees; inlined calls are marked
``(inline)``. Values use the unit pprof picks for the graph's nodes. Names go
through ``term_safe``; JSON keeps them as they are.
"""

from __future__ import annotations

import json
from typing import List

from profkit.analysis.measurement import percentage
from profkit.render.termsafe import term_safe
from profkit.render.text import output_unit, scaled_value, top_labels
from profkit.report import Report
from profkit.views.tree import TreeEdge, TreeReport

__all__ = ["render_peek", "render_peek_json", "render_tree", "render_tree_json",
           "tree_text"]

SEPARATOR = "----------------------------------------------------------+-------------"
LEGEND = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t "


def tree_text(t: TreeReport) -> str:
    """Return ``t`` as ``go tool pprof -tree`` / ``-peek`` prints it (ends with a newline)."""
    h = t.header
    unit = output_unit(h)
    total = h.total

    def fmt(v: int) -> str:
        return scaled_value(h, v, unit)

    lines: List[str] = [term_safe(x) for x in top_labels(h, unit)]
    lines += [SEPARATOR, LEGEND]

    def edge_line(e: TreeEdge, cum: int) -> str:
        inline = " (inline)" if e.inline else ""
        return f"{fmt(e.weight):>50} {percentage(e.weight, cum)} |   {term_safe(e.name)}{inline}"

    flat_sum = 0
    for en in t.entries:
        lines.append(SEPARATOR)
        lines.extend(edge_line(e, en.cum) for e in en.callers)
        flat_sum += en.flat
        lines.append(
            f"{fmt(en.flat):>10} {percentage(en.flat, total)} {percentage(flat_sum, total)} "
            f"{fmt(en.cum):>10} {percentage(en.cum, total)}                | "
            f"{term_safe(en.name)}"
        )
        lines.extend(edge_line(e, en.cum) for e in en.callees)
    if t.trimmed.graph.nodes:
        lines.append(SEPARATOR)
    return "\n".join(lines) + "\n"


def render_tree(report: Report) -> str:
    """Return the ``tree`` report of ``report`` as text."""
    from profkit.views.tree import tree_from_report

    return tree_text(tree_from_report(report))


def render_peek(report: Report) -> str:
    """Return the ``peek`` report of ``report`` (pattern: ``request.pattern``) as text."""
    from profkit.views.tree import peek_from_report

    return tree_text(peek_from_report(report))


def render_tree_json(report: Report) -> str:
    """Return the ``tree`` report as JSON (ends with a newline)."""
    from profkit.views.tree import tree_from_report

    return json.dumps(tree_from_report(report).to_dict(), indent=1) + "\n"


def render_peek_json(report: Report) -> str:
    """Return the ``peek`` report as JSON (ends with a newline)."""
    from profkit.views.tree import peek_from_report

    return json.dumps(peek_from_report(report).to_dict(), indent=1) + "\n"
