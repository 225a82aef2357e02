"""``profkit view``: the Flask flame-graph viewer (an edge layer, like the CLI).

``app.create_app(ViewerConfig)`` returns the Flask app; its JSON and download
routes turn the query string into a ``ReportRequest`` (pprof's parameter names)
and call ``profkit.render.registry.produce``; the page (``static/``) draws the
flame graph, its inverted twin, callers/callees and the top table from the
compact payload of ``profkit.views.flame``. See docs/VIEWER.md.
"""

from __future__ import annotations

from profkit.viewer.app import ViewerConfig, create_app

__all__ = ["ViewerConfig", "create_app"]
