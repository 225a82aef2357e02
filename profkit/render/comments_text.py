"""``comments``: the profile's comments, one per line, as ``go tool pprof -comments``.

Every comment is printed, those starting with ``#`` too (the report headers skip
those). Text passes through ``term_safe`` (a comment cannot break onto a second
line); JSON keeps the comments as they are.
"""

from __future__ import annotations

import json

from profkit.render.termsafe import term_safe
from profkit.report import Report

__all__ = ["render_comments", "render_comments_json"]


def render_comments(report: Report) -> str:
    """Return the comments of ``report``'s profile, one per line."""
    return "".join(term_safe(c) + "\n" for c in report.table.comments)


def render_comments_json(report: Report) -> str:
    """Return ``{"comments": [...]}`` for ``report``'s profile."""
    return json.dumps({"comments": list(report.table.comments)}, indent=1) + "\n"
