"""Text, JSON and Markdown outputs of the repeated-profile diff (``bench.diffstats``).

Registered in ``profkit.render.registry`` as report kind ``repeated_diff``; each
``render_*`` takes a built Report and reads its request's sides (the Report's own
table, the merged diff, is not used). The ``format_*`` functions take the
``RepeatedDiff`` itself (what the CLI calls, so it builds nothing twice).

Text names go through ``term_safe``; Markdown names are also escaped for table
cells; JSON keeps names as they are. Values print in the sample unit chosen per
value (``1.20s``), with ``/s`` for per-second values and as percentages of each
profile's total with ``per=total``.
"""

from __future__ import annotations

import json
from typing import List, Optional

from profkit.analysis.measurement import scaled_label, sniff_unit
from profkit.bench.diffstats import FunctionDiff, RepeatedDiff, pct, repeated_diff
from profkit.render.termsafe import term_safe
from profkit.report import Report

__all__ = ["format_json", "format_markdown", "format_text", "render_json",
           "render_markdown", "render_text"]

_PER_TEXT = {
    "second": "mean per second of each profile's duration",
    "total": "mean share of each profile's total",
    "raw": "mean of the raw values",
}


def _value(d: RepeatedDiff, v: float) -> str:
    if d.per == "total":
        return f"{v * 100:.2f}%"
    suffix = "/s" if d.per == "second" else ""
    if sniff_unit(d.unit) is not None:
        return scaled_label(int(round(v)), d.unit, "minimum") + suffix
    return f"{v:.4g}" + suffix


def _pct(p: Optional[float]) -> str:
    return "n/a" if p is None else f"{p:+.1f}%"


def _p(p: Optional[float]) -> str:
    return "-" if p is None else f"{p:.3g}"


def _tested(d: RepeatedDiff, r: FunctionDiff) -> tuple:
    if d.cum:
        return r.base_cum, r.new_cum, r.delta_cum
    return r.base_flat, r.new_flat, r.delta_flat


def header(d: RepeatedDiff) -> List[str]:
    """Return the lines printed above the table (plain text, names terminal-safe)."""
    what = "cum" if d.cum else "flat"
    test = "Welch's t" if d.test == "welch" else "Mann-Whitney U"
    out = [
        f"Type: {term_safe(d.sample_type)}",
        f"Base: {len(d.base_names)} profiles: " + ", ".join(map(term_safe, d.base_names)),
        f"New: {len(d.new_names)} profiles: " + ", ".join(map(term_safe, d.new_names)),
        f"Values: {what}, {_PER_TEXT[d.per]}",
        f"Test: {test} on the per-profile values, Holm-corrected over {d.functions} "
        f"functions; * = adjusted p <= {d.alpha:g}",
    ]
    out.extend(f"Note: {n}" for n in d.notes)
    if len(d.rows) < d.functions:
        out.append(f"Showing top {len(d.rows)} functions out of {d.functions}")
    return out


def format_text(d: RepeatedDiff) -> str:
    """Return the diff as a terminal table (ends with a newline)."""
    lines = header(d)
    lines.append(f"{'base':>11} {'new':>11} {'delta':>11} {'delta%':>8} {'p(Holm)':>8}   "
                 f"{'status':<8} name")
    for r in d.rows:
        b, n, dv = _tested(d, r)
        mark = "*" if r.significant else " "
        lines.append(
            f"{_value(d, b):>11} {_value(d, n):>11} {_value(d, dv):>11} "
            f"{_pct(pct(b, n)):>8} {_p(r.p_adjusted):>8} {mark} {r.status:<8} "
            f"{term_safe(r.name)}"
        )
    return "\n".join(lines) + "\n"


def format_json(d: RepeatedDiff) -> str:
    """Return the diff as JSON (``RepeatedDiff.to_dict``; ends with a newline)."""
    return json.dumps(d.to_dict(), indent=1) + "\n"


def _cell(text: str) -> str:
    return term_safe(text).replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`")


def format_markdown(d: RepeatedDiff) -> str:
    """Return the diff as a Markdown table for a pull-request comment."""
    lines = ["#### Profile diff: " + ("cum" if d.cum else "flat") + f" ({_cell(d.sample_type)})",
             "", "\n".join(f"- {_cell(h)}" for h in header(d)[1:]), "",
             "| function | base | new | delta | delta % | p (Holm) | status |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in d.rows:
        b, n, dv = _tested(d, r)
        mark = " **\\***" if r.significant else ""
        lines.append(
            f"| {_cell(r.name)} | {_value(d, b)} | {_value(d, n)} | {_value(d, dv)} | "
            f"{_pct(pct(b, n))} | {_p(r.p_adjusted)}{mark} | {r.status} |"
        )
    return "\n".join(lines) + "\n"


def render_text(report: Report) -> str:
    """Registry entry: the text table of ``report.request``'s sides."""
    return format_text(repeated_diff(report.request))


def render_json(report: Report) -> str:
    """Registry entry: the JSON of ``report.request``'s sides."""
    return format_json(repeated_diff(report.request))


def render_markdown(report: Report) -> str:
    """Registry entry: the Markdown of ``report.request``'s sides."""
    return format_markdown(repeated_diff(report.request))
