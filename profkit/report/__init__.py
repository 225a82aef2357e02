"""The report layer: one request value, one ``build()``, then a renderer.

``ReportRequest`` (``request.py``) says what to load and show; ``build``
(``driver.py``) loads, merges, diffs and filters once and returns a ``Report``;
``profkit.render.registry.produce`` looks the renderer up and returns its output.
Inputs are read in ``sources.py`` only. See docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from profkit.report.driver import Report, build
from profkit.report.request import ReportRequest

__all__ = ["Report", "ReportRequest", "build"]
