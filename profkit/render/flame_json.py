"""The flame payload (``profkit.views.flame``) as JSON: what the viewer's page reads.

Compact separators (the payload of a large profile is megabytes); names kept as
they are in the profile. JSON served with ``application/json`` is never parsed as
HTML, so no escaping beyond JSON's own is needed here; embedding the payload in an
HTML page is ``profkit.render.html_export``'s job (it escapes ``<``, ``>``, ``&``).
"""

from __future__ import annotations

import json

from profkit.report import Report

__all__ = ["render"]


def render(report: Report) -> str:
    """Return the flame payload of ``report`` as one line of JSON."""
    from profkit.views.flame import flame_from_report

    return json.dumps(flame_from_report(report), separators=(",", ":"), ensure_ascii=False)
