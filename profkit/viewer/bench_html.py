"""``profkit bench compare BASE NEW --html report.html``: a self-contained HTML compare table.

``write_compare_html(comparison, base_runs, new_runs, path)`` writes ``path``: the table of
every benchmark (median ± interval per side, change, verdict), the comparison's notes, and for
each slower benchmark whose runs recorded profiles (``pytest --profkit-profile``) a link to
``<stem>.flame-<n>.html`` beside it: the self-contained diff flame graph (flame/html renderer,
``render.html_export``) of its one-call profiles (``bench.profiles.per_call_profile``, new
against base). Every file opens from disk with no network (no script at all in the table; the
flame pages inline theirs). Names are HTML-escaped. The flame pages are written first and the
table last, each atomically, so a failure never leaves a table linking to a missing page.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from profkit.bench.samples import BenchRun
from profkit.bench.verdict import SLOWER, Comparison, Row
from profkit.errors import ProfkitError

__all__ = ["flame_page", "render_compare_html", "write_compare_html"]

_STYLE = """body{font:14px system-ui,sans-serif;margin:1em 2em;color:#222}
table{border-collapse:collapse}th,td{border-bottom:1px solid #ddd;padding:.25em .75em;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.slower td{background:#fdecea}
tr.faster td{background:#e8f5e9}.muted{color:#777}"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def flame_page(base_runs: Sequence[BenchRun], new_runs: Sequence[BenchRun], name: str) -> Tuple[Optional[str], str]:
    """Return (the diff flame page of benchmark ``name``, "") or (None, why there is none)."""
    from profkit.bench.profiles import per_call_profile
    from profkit.render.registry import produce
    from profkit.report import ReportRequest

    try:
        base, new = per_call_profile(base_runs, name), per_call_profile(new_runs, name)
    except ProfkitError as e:
        return None, f"profile unreadable: {e}"
    if base is None or new is None:
        side = "either" if base is None and new is None else ("the base" if base is None else "the new")
        return None, f"no profile recorded on {side} side"
    out = produce(ReportRequest([new], kind="flame", format="html", diff_base=[base]))
    return (out if isinstance(out, str) else out.decode("utf-8")), ""


def _row_html(row: Row, link: Optional[str], why: str) -> str:
    from profkit.bench import report

    cells = [f"<td>{html.escape(row.name)}</td>",
             f'<td class="num">{html.escape(report.format_side(row.base, row.unit))}</td>',
             f'<td class="num">{html.escape(report.format_side(row.new, row.unit))}</td>',
             f'<td class="num">{html.escape(report.format_change(row))}</td>',
             f"<td>{html.escape(row.verdict + (f' ({row.note})' if row.note else ''))}</td>"]
    if link:
        cells.append(f'<td><a class="flame-link" href="{html.escape(link)}">diff flame graph</a></td>')
    else:
        cells.append(f'<td class="muted">{html.escape(why)}</td>')
    cls = {"slower": "slower", "faster": "faster"}.get(row.verdict, "")
    return f'<tr class="{cls}">' + "".join(cells) + "</tr>"


def render_compare_html(comparison: Comparison, links: Sequence[Tuple[Optional[str], str]]) -> str:
    """Return the table page; ``links[i]`` is (flame file name or None, note) of ``rows[i]``."""
    rows = "\n".join(_row_html(r, link, why) for r, (link, why) in zip(comparison.rows, links))
    notes = "".join(f'<li class="muted">{html.escape(n)}</li>' for n in comparison.notes)
    verdict = ("a significant regression" if comparison.regressions else "no significant regression")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f"<title>profkit bench compare</title><style>{_STYLE}</style></head><body>"
            f"<h1>Benchmark comparison</h1><p>{verdict} (threshold "
            f"{comparison.options.threshold:.1%}, alpha {comparison.options.alpha:g})</p>"
            "<table><thead><tr><th>benchmark</th><th>base</th><th>new</th><th>change</th>"
            f"<th>verdict</th><th>profile diff</th></tr></thead><tbody>\n{rows}\n</tbody></table>"
            f"<ul>{notes}</ul></body></html>\n")


def write_compare_html(comparison: Comparison, base_runs: Sequence[BenchRun],
                       new_runs: Sequence[BenchRun], path: str) -> List[str]:
    """Write the table at ``path`` and its flame pages beside it; return the paths written."""
    from profkit.model.codec import write_atomic

    target = Path(path)
    written: List[str] = []
    links: List[Tuple[Optional[str], str]] = []
    for row in comparison.rows:
        if row.verdict != SLOWER:
            links.append((None, ""))
            continue
        page, why = flame_page(base_runs, new_runs, row.name)
        if page is None:
            links.append((None, why))
            continue
        flame = target.with_name(f"{target.stem}.flame-{len(written) + 1}.html")
        write_atomic(str(flame), page.encode("utf-8"))
        written.append(str(flame))
        links.append((flame.name, ""))
    write_atomic(str(target), render_compare_html(comparison, links).encode("utf-8"))
    return written + [str(target)]
