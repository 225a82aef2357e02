"""The renderer registry: every report output, looked up by (kind, format).

As ``importers.FORMATS`` lists the inputs, ``RENDERERS`` lists the outputs: one
``Renderer`` per (report kind, output format), each naming the function that turns
a built ``Report`` into text (``str``) or bytes. Functions are imported on first
use, so listing the registry costs nothing at start-up. ``produce(request)`` is
what an edge calls: look the renderer up, ``build`` the report, render it.

Adding an output: write ``profkit/render/<name>.py`` with ``render(report)`` and add
a row here; the CLI, the endpoints and the viewer find it by kind and format.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable, List, Union

from profkit.errors import InputError, ProfileFormatError
from profkit.report import Report, ReportRequest, build

__all__ = ["RENDERERS", "Renderer", "find", "formats_of", "kinds", "produce", "render"]

Output = Union[str, bytes]


@dataclass(frozen=True)
class Renderer:
    """One output: ``target`` is ``"module:function"`` taking a Report.

    ``binary``: the output is bytes (write it, never print it to a terminal).
    ``needs_profile``: the renderer reads ``report.profile`` (the filtered Profile).
    ``media_type``: what an HTTP edge sends it as.
    """

    kind: str
    format: str
    target: str
    binary: bool = False
    needs_profile: bool = False
    media_type: str = "text/plain; charset=utf-8"

    def function(self) -> Callable[[Report], Output]:
        """Import and return the rendering function."""
        module, name = self.target.split(":")
        fn: Callable[[Report], Output] = getattr(importlib.import_module(module), name)
        return fn


_JSON = "application/json"

RENDERERS: List[Renderer] = [
    Renderer("top", "text", "profkit.render.text:render_top_report"),
    Renderer("top", "json", "profkit.render.json_report:render_top", media_type=_JSON),
    Renderer("proto", "pprof", "profkit.render.proto:render", binary=True, needs_profile=True,
             media_type="application/vnd.google.protobuf+gzip"),
    # -- call-graph reports: tree, peek, dot/svg/png/pdf --
    Renderer("tree", "text", "profkit.render.tree_text:render_tree"),
    Renderer("tree", "json", "profkit.render.tree_text:render_tree_json", media_type=_JSON),
    Renderer("peek", "text", "profkit.render.tree_text:render_peek"),
    Renderer("peek", "json", "profkit.render.tree_text:render_peek_json", media_type=_JSON),
    Renderer("dot", "dot", "profkit.render.dot:render_dot", media_type="text/vnd.graphviz"),
    Renderer("dot", "json", "profkit.render.dot:render_dot_json", media_type=_JSON),
    Renderer("dot", "svg", "profkit.render.graphviz:render_svg", media_type="image/svg+xml"),
    Renderer("dot", "png", "profkit.render.graphviz:render_png", binary=True,
             media_type="image/png"),
    Renderer("dot", "pdf", "profkit.render.graphviz:render_pdf", binary=True,
             media_type="application/pdf"),
    # -- other text and file reports: traces, tags, raw, comments, list, callgrind --
    Renderer("traces", "text", "profkit.render.traces_text:render_traces"),
    Renderer("traces", "json", "profkit.render.traces_text:render_traces_json", media_type=_JSON),
    Renderer("tags", "text", "profkit.render.tags_text:render_tags"),
    Renderer("tags", "json", "profkit.render.tags_text:render_tags_json", media_type=_JSON),
    Renderer("raw", "text", "profkit.render.raw_text:render_raw"),
    Renderer("raw", "json", "profkit.render.raw_text:render_raw_json", media_type=_JSON),
    Renderer("comments", "text", "profkit.render.comments_text:render_comments"),
    Renderer("comments", "json", "profkit.render.comments_text:render_comments_json",
             media_type=_JSON),
    Renderer("list", "text", "profkit.render.source_text:render_source"),
    Renderer("list", "json", "profkit.render.source_text:render_source_json", media_type=_JSON),
    Renderer("callgrind", "callgrind", "profkit.render.callgrind:render", binary=True),
    # -- repeated diff -- (reads request.sources / diff_base one profile at a time)
    Renderer("repeated_diff", "text", "profkit.bench.diff_render:render_text"),
    Renderer("repeated_diff", "json", "profkit.bench.diff_render:render_json", media_type=_JSON),
    Renderer("repeated_diff", "markdown", "profkit.bench.diff_render:render_markdown",
             media_type="text/markdown; charset=utf-8"),
    # -- viewer payloads: flame --
    Renderer("flame", "html", "profkit.render.html_export:render",
             media_type="text/html; charset=utf-8"),
    Renderer("flame", "json", "profkit.render.flame_json:render", media_type=_JSON),
]


def kinds() -> List[str]:
    """Return the report kinds, in registry order, each once."""
    return list(dict.fromkeys(r.kind for r in RENDERERS))


def formats_of(kind: str) -> List[str]:
    """Return the output formats of report ``kind``."""
    return [r.format for r in RENDERERS if r.kind == kind]


def find(kind: str, fmt: str) -> Renderer:
    """Return the renderer of (``kind``, ``fmt``); InputError (one line) when none."""
    for r in RENDERERS:
        if r.kind == kind and r.format == fmt:
            return r
    if kind not in kinds():
        raise InputError(f"unknown report {kind!r} (use one of {', '.join(kinds())})")
    raise InputError(
        f"report {kind!r} has no {fmt!r} output (use one of {', '.join(formats_of(kind))})"
    )


def render(renderer: Renderer, report: Report) -> Output:
    """Render ``report``; a malformed input found while rendering is named in the error."""
    try:
        return renderer.function()(report)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{', '.join(report.source_names)}: {e}") from None


def produce(request: ReportRequest) -> Output:
    """Build ``request``'s report and render it with its registered renderer."""
    renderer = find(request.kind, request.format)
    if renderer.needs_profile and not request.want_profile:
        request = request.with_changes(want_profile=True)
    return render(renderer, build(request))
