"""Profile algebra with pprof's semantics: every operation returns a new Profile.

``merge``, ``compact``, ``scale``, ``scale_n``, ``normalize``, ``subtract``
(``-base``), ``diff`` (``-diff_base``), ``delta`` (Go's endpoint delta). Filters and
the view pipeline live in ``profkit.analysis.filter`` and ``profkit.analysis.pipeline``.
Inputs are never modified.
"""

from __future__ import annotations

from profkit.analysis.diff import BASE_LABEL, delta, diff, is_diff, subtract
from profkit.analysis.merge import check_compatible, compact, merge
from profkit.analysis.scale import normalize, scale, scale_n

__all__ = [
    "BASE_LABEL",
    "check_compatible",
    "compact",
    "delta",
    "diff",
    "is_diff",
    "merge",
    "normalize",
    "scale",
    "scale_n",
    "subtract",
]
