"""JSON outputs of the report kinds whose view-model has ``to_dict`` (``top`` here).

Names are kept as they are in the profile (JSON escapes what it must); values are
in the sample unit, percentages as floats.
"""

from __future__ import annotations

import json

from profkit.report import Report

__all__ = ["render_top"]


def render_top(report: Report) -> str:
    """Return the top table of ``report`` as JSON (ends with a newline)."""
    from profkit.views.top import top_from_report

    return json.dumps(top_from_report(report).to_dict(), indent=1) + "\n"
