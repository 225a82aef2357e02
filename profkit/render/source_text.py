"""``list REGEX`` as ``go tool pprof -list`` prints it, plus profkit's notes.

``Total: V``; per function and file a ``ROUTINE ===… NAME in FILE`` line, the
function's flat and cum with its share of the total, then ``FLAT CUM LINE:TEXT``
per line (``.`` for zero), values in pprof's ``minimum`` unit. Where pprof would
stop with an error (file not found) or stay silent (file changed), a
`` Note: …`` line follows the header and the sampled lines are still listed.
Names and source text pass through ``term_safe`` (tabs in source are kept).
"""

from __future__ import annotations

import json
from typing import Dict, List, Optional

from profkit.analysis.measurement import percentage
from profkit.errors import InputError
from profkit.options import ViewOptions
from profkit.render.termsafe import term_safe
from profkit.render.traces_text import format_value
from profkit.report import Report
from profkit.views.source import SourceView, source_from_report

__all__ = ["format_source", "render_source", "render_source_json"]


def _safe_source(text: str) -> str:
    return "\t".join(term_safe(part) for part in text.split("\t"))


def format_source(v: SourceView, options: Optional[ViewOptions] = None) -> str:
    """Return ``v`` as ``go tool pprof -list`` prints it (InputError when nothing matched)."""
    if not v.files:
        raise InputError(f"no matches found for regexp: {term_safe(v.pattern)}")
    unit = v.sample_unit
    options = options or ViewOptions()

    labels: Dict[int, str] = {0: "."}

    def dot(x: int) -> str:
        got = labels.get(x)
        if got is None:
            got = labels[x] = format_value(x, unit, options)
        return got

    def fmt(x: int) -> str:
        return dot(x) if x else format_value(0, unit, options)

    out: List[str] = [f"Total: {fmt(v.total)}"]
    for f in v.files:
        name = term_safe(f.name)
        if not f.file:
            out.append(f"No source information for {name}")
            continue
        out.append(f"ROUTINE ======================== {name} in {term_safe(f.file)}")
        out.append(f"{fmt(f.flat):>10} {fmt(f.cum):>10} (flat, cum) "
                   f"{percentage(f.cum, v.total)} of Total")
        if f.note:
            out.append(f" Note: {term_safe(f.note)}")
        out.extend(f"{dot(ln.flat):>10} {dot(ln.cum):>10} {ln.line:6d}:{_safe_source(ln.text)}"
                   for ln in f.lines)
    return "\n".join(out) + "\n"


def render_source(report: Report) -> str:
    """Return the annotated source of ``report``'s pattern as text."""
    return format_source(source_from_report(report), report.request.options)


def render_source_json(report: Report) -> str:
    """Return the annotated source as JSON: per function {name, file, lines, note}."""
    return json.dumps(source_from_report(report).to_dict(), indent=1) + "\n"
