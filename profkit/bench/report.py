"""Render a ``Comparison``: terminal table (rich), Markdown (PR comment), JSON, GitHub annotations.

Every renderer is a pure function of the comparison (and, for profile links, a mapping of
benchmark name to preformatted text) returning a string; nothing is printed here.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from typing import Any, Dict, List, Mapping, Optional

from profkit.bench.verdict import (
    BASE_ONLY,
    FASTER,
    NEW_ONLY,
    RUN_U,
    SLOWER,
    TOO_FEW,
    UNCHANGED,
    WELCH_SUMMARY,
    Comparison,
    GeomeanRow,
    Row,
    SideStats,
)

FORMATS = ("table", "markdown", "json", "github")

_TIME_STEPS = ((1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms"), (1.0, "s"))
_COUNT_STEPS = ((1e3, "k"), (1e6, "M"), (1e9, "G"))


def format_value(value: Optional[float], unit: str) -> str:
    """Format a value in ``unit``; seconds get ns/µs/ms/s scaling, instruction counts k/M/G
    (``13.8M instr``), others 4 significant digits."""
    if value is None or math.isnan(value):
        return "?"
    if unit == "s":
        scale, suffix = _TIME_STEPS[0]
        for step, name in _TIME_STEPS:
            if abs(value) >= step:
                scale, suffix = step, name
        return f"{value / scale:.4g}{suffix}"
    if unit == "instructions":
        scale, suffix = 1.0, ""
        for step, name in _COUNT_STEPS:
            if abs(value) >= step:
                scale, suffix = step, name
        return f"{value / scale:.4g}{suffix} instr"
    return f"{value:.4g} {unit}".rstrip()


def format_side(side: Optional[SideStats], unit: str) -> str:
    """Return ``median ± x%`` (benchstat's interval: x = max(hi/c - 1, 1 - lo/c)), ``± ∞`` if unbounded.

    A side judged on its mean (Welch rows) reads ``mean 2ms ± 1%``.
    """
    if side is None:
        return "-"
    if side.n == 0:
        return "no samples"
    text = ("mean " if side.center == "mean" else "") + format_value(side.median, unit)
    if side.ci is None or side.median == 0:
        return text + " ± ∞"
    lo, hi = side.ci
    spread = max(hi / side.median - 1.0, 1.0 - lo / side.median)
    return f"{text} ± {spread:.0%}"


def format_change(row: Row) -> str:
    """Return the change column: ``+31.2%``, ``~`` when not significant, ``?`` when undefined."""
    if row.change is None:
        return "?" if row.base and row.new else ""
    text = f"{row.change:+.1%}"
    return text if row.verdict in (SLOWER, FASTER) else f"~ ({text})"


def format_p(row: Row) -> str:
    """Return ``p=0.001 n=20+20`` in benchstat's spirit (the Holm-adjusted p when available).

    ``runs`` marks run-median samples, ``Welch (means)`` the summary-only t-test; a p outside the
    Holm family (``too few samples``) is shown as ``raw p``.
    """
    if row.p is None:
        return ""
    p = row.p_adjusted if row.p_adjusted is not None else row.p
    label = "p" if row.p_adjusted is not None else "raw p"
    n = f"{row.base.n}+{row.new.n}" if row.base and row.new else ""
    suffix = {RUN_U: " runs", WELCH_SUMMARY: " Welch (means)"}.get(row.method or "", "")
    return f"{label}={p:.3g} n={n}{suffix}"


def format_mde(row: Row) -> str:
    """Return the MDE column: ``3.9%`` (smallest slowdown these samples could show), ``∞``, or ``""``."""
    if row.mde is None:
        return ""
    if math.isinf(row.mde):
        return "∞"
    return "<0.1%" if row.mde < 0.001 else f"{row.mde:.1%}"


def _verdict_text(row: Row, undecided: bool = False) -> str:
    text = row.verdict
    if row.verdict == SLOWER and not row.gates:
        text += " (not gating)"
    if undecided:
        text += " (gate could not decide)"
    return text


def _cells(row: Row, undecided: bool = False) -> List[str]:
    return [row.name + ("" if row.unit == "s" else f" [{row.unit}]"), format_side(row.base, row.unit),
            format_side(row.new, row.unit), format_change(row), format_p(row), format_mde(row),
            _verdict_text(row, undecided)]


def _geo_cells(g: GeomeanRow) -> List[str]:
    label = "geomean" + ("" if g.unit == "s" else f" [{g.unit}]")
    change = "?" if g.change is None else f"{g.change:+.1%}"
    return [label, format_value(g.base, g.unit), format_value(g.new, g.unit), change, "", "", ""]


_HEADER = ["benchmark", "base", "new", "change", "p (Holm)", "MDE", "verdict"]

#: Above this many rows, table and Markdown list only rows with a verdict other than ``~``.
MAX_ROWS = 50


def visible_rows(c: Comparison, show_all: bool = False) -> List[Row]:
    """Return the rows to print: all of them, or (over ``MAX_ROWS``) those that are not plain ``~``."""
    if show_all or len(c.rows) <= MAX_ROWS:
        return list(c.rows)
    return [r for r in c.rows if r.verdict != UNCHANGED]


def _hidden_note(c: Comparison, shown: List[Row]) -> List[str]:
    hidden = len(c.rows) - len(shown)
    return [f"{hidden} unchanged benchmarks not listed (--all lists them; --format json has all)"] \
        if hidden else []


def _notes(c: Comparison) -> List[str]:
    notes = list(c.notes)
    for row in c.rows:
        if row.note:
            notes.append(f"{row.name}: {row.note}")
    return notes


def _headline(c: Comparison) -> str:
    slower = sum(r.verdict == SLOWER for r in c.rows)
    faster = sum(r.verdict == FASTER for r in c.rows)
    few = sum(r.verdict == TOO_FEW for r in c.rows)
    gate = "FAIL" if c.regressions else ("UNDECIDED" if c.undecided else "PASS")
    blind_to = len(c.insensitive)
    cannot = f"; cannot see the threshold on {blind_to}" if blind_to else ""
    return (f"{gate}: {slower} slower, {faster} faster, {len(c.rows) - slower - faster - few} "
            f"unchanged, {few} too few samples{cannot} (threshold {c.options.threshold * 100:.3g}%, alpha "
            f"{c.options.alpha:g})")


def render_table(c: Comparison, profiles: Optional[Mapping[str, str]] = None, width: int = 120,
                 show_all: bool = False) -> str:
    """Render a rich terminal table (no colour codes when written to a string)."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold underline")  # box=None: 40 % faster
    for h in _HEADER:
        table.add_column(h, overflow="fold")
    styles = {SLOWER: "bold red", FASTER: "green", TOO_FEW: "yellow"}
    shown = visible_rows(c, show_all)
    undecided = {id(r) for r in c.undecided}
    all_cells = [_HEADER] + [_cells(r, id(r) in undecided) for r in shown] + [_geo_cells(g) for g in c.geomeans]
    for cells, row in zip(all_cells[1:], shown):
        table.add_row(*map(Text, cells), style=styles.get(row.verdict))
    for cells in all_cells[1 + len(shown):]:
        table.add_row(*map(Text, cells), style="dim")
    needed = sum(max(len(cells[i]) for cells in all_cells) for i in range(len(_HEADER))) + 2 * len(_HEADER)
    width = max(width, needed)  # never fold names: CI logs are wide
    buf = io.StringIO()
    console = Console(file=buf, width=width, color_system=None, highlight=False, soft_wrap=False)
    console.print(table)
    for i, note in enumerate(_hidden_note(c, shown) + _notes(c), 1):
        console.print(f"[{i}] {note}", markup=False)
    for name, text in (profiles or {}).items():
        console.print(f"\nfunctions whose time grew most in {name}:\n{text}", markup=False)
    console.print(_headline(c), markup=False)
    return buf.getvalue()


_MD_SPECIALS = re.compile(r"([\\`*_\[\]|])")


def _md_escape(text: str) -> str:
    """Escape text for a Markdown table cell: HTML (``& < >``) and ``\\ ` * _ [ ] |``."""
    return _MD_SPECIALS.sub(r"\\\1", html.escape(text, quote=False))


def render_markdown(c: Comparison, profiles: Optional[Mapping[str, str]] = None,
                    show_all: bool = False) -> str:
    """Render a GitHub-flavoured Markdown report for a PR comment."""
    gate = ":x:" if c.regressions else (":warning:" if c.blind or c.insensitive else
                                        ":white_check_mark:")
    lines = [f"### {gate} Benchmark comparison — {_headline(c)}", ""]
    lines.append("| " + " | ".join(_HEADER) + " |")
    lines.append("|" + "---|" * len(_HEADER))
    shown = visible_rows(c, show_all)
    undecided = {id(r) for r in c.undecided}
    for row in shown:
        cells = [_md_escape(x) for x in _cells(row, id(row) in undecided)]
        if row.verdict == SLOWER:
            cells[-1] = f"**{cells[-1]}**"
        lines.append("| " + " | ".join(cells) + " |")
    for g in c.geomeans:
        lines.append("| " + " | ".join(f"*{x}*" if x else "" for x in _geo_cells(g)) + " |")
    lines.append("")
    for i, note in enumerate(_hidden_note(c, shown) + _notes(c), 1):
        lines.append(f"{i}. {_md_escape(note)}")
    for name, text in (profiles or {}).items():
        lines += ["", f"<details><summary>Functions whose time grew most in <code>{html.escape(name)}</code>"
                  "</summary>", "", "```", text.rstrip(), "```", "</details>"]
    return "\n".join(lines) + "\n"


def _side_json(side: Optional[SideStats]) -> Optional[Dict[str, Any]]:
    if side is None:
        return None
    median = None if math.isnan(side.median) else side.median
    return {"n": side.n, "runs": side.runs, "median": median, "raw": side.raw,
            "center": side.center, "ci": list(side.ci) if side.ci else None}


def render_json(c: Comparison, profiles: Optional[Mapping[str, str]] = None) -> str:
    """Render the comparison as JSON (stable keys; floats as numbers, missing values as null).

    ``mde`` is the smallest detectable slowdown as a fraction; null when none could be significant
    (too few samples) or not computed (one side missing).
    """
    undecided = {id(r) for r in c.undecided}
    insensitive = {id(r) for r in c.insensitive}
    doc = {
        "exit_code": c.exit_code,
        "gate": "fail" if c.regressions else ("undecided" if c.undecided else
                                              ("blind" if c.blind else "pass")),
        "needed_per_side": c.needed,
        "sees_threshold": not c.insensitive,
        "options": {"alpha": c.options.alpha, "threshold": c.options.threshold,
                    "confidence": c.options.confidence, "fail_on": list(c.options.fail_on),
                    "strict": c.options.strict},
        "benchmarks": [
            {"name": r.name, "unit": r.unit, "base": _side_json(r.base), "new": _side_json(r.new),
             "change": r.change, "p": r.p, "p_adjusted": r.p_adjusted, "method": r.method,
             "verdict": r.verdict, "gates": r.gates, "regression": r.is_regression, "note": r.note,
             "single_run": r.single_run, "undecided": id(r) in undecided,
             "mde": r.mde if r.mde is not None and math.isfinite(r.mde) else None,
             "sees_threshold": id(r) not in insensitive,
             "profile_diff": (profiles or {}).get(r.name)}
            for r in c.rows
        ],
        "geomean": [{"unit": g.unit, "count": g.count, "base": g.base, "new": g.new,
                     "change": g.change} for g in c.geomeans],
        "notes": c.notes,
    }
    return json.dumps(doc, indent=2, allow_nan=False, default=str) + "\n"


def _gh_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github(c: Comparison, profiles: Optional[Mapping[str, str]] = None) -> str:
    """Render GitHub Actions workflow commands: ``::error`` per gating regression, else warnings."""
    lines = []
    for r in c.rows:
        detail = f"{format_change(r)} ({format_p(r)}; base {format_side(r.base, r.unit)}, new " \
                 f"{format_side(r.new, r.unit)})"
        if r.is_regression:
            extra = ("\n" + profiles[r.name]) if profiles and r.name in profiles else ""
            lines.append(f"::error title=Benchmark regression::{_gh_escape(r.name + ' slower ' + detail + extra)}")
        elif r.verdict == SLOWER:
            lines.append(f"::warning title=Benchmark slower (not gating)::{_gh_escape(r.name + ' ' + detail)}")
        elif r.verdict == TOO_FEW:
            title = "Benchmark gate could not decide" if r in c.undecided else "Benchmark not testable"
            lines.append(f"::warning title={title}::{_gh_escape(r.name + ' ' + detail + ': ' + r.note)}")
        elif r in c.insensitive:
            lines.append(f"::warning title=Benchmark gate cannot see the threshold::"
                         f"{_gh_escape(r.name + ' ' + detail + f': smallest detectable slowdown {format_mde(r)} > threshold {c.options.threshold * 100:.3g}%')}")
        elif r.verdict == FASTER:
            lines.append(f"::notice title=Benchmark faster::{_gh_escape(r.name + ' ' + detail)}")
        elif r.verdict in (BASE_ONLY, NEW_ONLY):
            side = "removed (base only)" if r.verdict == BASE_ONLY else "added (new only)"
            lines.append(f"::notice title=Benchmark {side}::{_gh_escape(r.name + ' not compared')}")
    for note in c.notes:
        lines.append(f"::notice title=profkit bench::{_gh_escape(note)}")
    lines.append(f"::notice title=profkit bench::{_gh_escape(_headline(c))}")
    return "\n".join(lines) + "\n"


def render(c: Comparison, fmt: str, profiles: Optional[Mapping[str, str]] = None,
           show_all: bool = False) -> str:
    """Render in one of ``FORMATS`` (``show_all`` matters to table and Markdown only)."""
    if fmt == "table":
        return render_table(c, profiles, show_all=show_all)
    if fmt == "markdown":
        return render_markdown(c, profiles, show_all=show_all)
    return render_json(c, profiles) if fmt == "json" else render_github(c, profiles)
