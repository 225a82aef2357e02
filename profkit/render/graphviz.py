"""``svg`` / ``png`` / ``pdf``: the ``dot`` report rendered by Graphviz's ``dot`` program.

``render_svg`` returns a standalone SVG document (text; what the viewer's call
graph tab shows), ``render_png`` / ``render_pdf`` bytes. When ``dot`` is not on
PATH the error is one line: "failed to execute dot: is Graphviz installed?
(apt-get install graphviz)" (exit 1). A ``dot`` that fails or runs past
``TIMEOUT`` seconds is also one line, with the first line of what it printed.

Graphviz reads HTML entities in quoted labels (``&amp;`` draws ``&``), so every ``&``
of the dot text is written ``&amp;`` before Graphviz sees it: a name holding ``&lt;``
or ``&amp;`` is drawn as it is. The ``dot`` report itself keeps pprof's text.
"""

from __future__ import annotations

import shutil
import subprocess

from profkit.errors import CommandError
from profkit.render.dot import render_dot
from profkit.render.termsafe import term_safe
from profkit.report import Report

__all__ = ["TIMEOUT", "graphviz", "render_pdf", "render_png", "render_svg"]

#: Seconds Graphviz may take before the report fails (80 nodes take well under one).
TIMEOUT = 120.0
NOT_INSTALLED = "failed to execute dot: is Graphviz installed? (apt-get install graphviz)"


def graphviz(source: str, fmt: str) -> bytes:
    """Return ``source`` (dot) rendered by ``dot -T<fmt>``; CommandError (one line) on failure."""
    exe = shutil.which("dot")
    if exe is None:
        raise CommandError(NOT_INSTALLED)
    literal = source.replace("&", "&amp;")  # '&' appears only inside quoted strings in our dot
    try:
        proc = subprocess.run([exe, "-T" + fmt], input=literal.encode("utf-8"),
                              capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise CommandError(f"dot -T{fmt} took longer than {TIMEOUT:g}s; "
                           "show fewer nodes (-n)") from None
    except OSError as e:
        raise CommandError(f"failed to execute dot: {e.strerror or e}") from None
    if proc.returncode != 0 or not proc.stdout:
        first = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[0]
        raise CommandError(f"dot -T{fmt} failed (exit {proc.returncode}): {term_safe(first)}")
    return proc.stdout


def render_svg(report: Report) -> str:
    """Return the call graph of ``report`` as a standalone SVG document."""
    return graphviz(render_dot(report), "svg").decode("utf-8")


def render_png(report: Report) -> bytes:
    """Return the call graph of ``report`` as PNG bytes."""
    return graphviz(render_dot(report), "png")


def render_pdf(report: Report) -> bytes:
    """Return the call graph of ``report`` as PDF bytes."""
    return graphviz(render_dot(report), "pdf")
