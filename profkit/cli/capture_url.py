"""``profkit capture URL``'s fetching: the report layer's ``profkit.report.fetch_url``.

Loading a file, a URL or a PID lives in one place outside ``cli/``
(``profkit.report.sources`` and ``fetch_url``); this module keeps the names the CLI
(``cmd_capture``, ``cmd_view``) and the tests import from here.
"""

from __future__ import annotations

from profkit.report.fetch_url import (
    MAX_BODY,
    MAX_SECONDS,
    Target,
    UsageError,
    auth_headers,
    build_target,
    check_profile,
    fetch,
    fetch_profile,
    fetch_with_progress,
)

__all__ = [
    "MAX_BODY", "MAX_SECONDS", "Target", "UsageError", "auth_headers", "build_target",
    "check_profile", "fetch", "fetch_profile", "fetch_with_progress",
]
