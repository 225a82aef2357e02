"""``ReportRequest``: everything one report needs, as one value (pprof's config).

A request names its inputs (files, URLs, or in-memory ``Profile`` objects), the
bases (``diff_base``: pprof's ``-diff_base``; ``subtract``: pprof's ``-base``), the
view options (``profkit.options.ViewOptions``: filters, sample index, granularity,
node limits), the report ``kind`` and output ``format``. The CLI, the
``/debug/profile`` endpoints and the viewer each parse their own input (flags, a
query string) into a request, and ``profkit.report.build`` does the rest: a filter
means the same everywhere because it is this same value.

``from_query`` reads pprof's URL parameter names (``f``, ``i``, ``si``, ``g`` ...),
plus ``report`` (kind) and ``q`` (the peek/list pattern); unknown keys are ignored,
bad values raise ``InputError`` with one line.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, List, Mapping, Optional, Sequence, Union

from profkit.errors import InputError
from profkit.options import ViewOptions

if TYPE_CHECKING:
    from profkit.model.profile import Profile

__all__ = ["ReportRequest", "Source"]

#: A report input: a path, a URL (``http://…``), ``pid:N``, or a Profile already in memory.
Source = Union[str, "Profile"]


@dataclass
class ReportRequest:
    """One report's inputs and options (see module doc).

    Attributes:
        sources: inputs, merged when several (pprof's Merge).
        kind: the report (``top``, ``tree``, ``peek``, ... ; the renderer registry
            in ``profkit.render.registry`` lists them).
        format: the output (``text``, ``json``, ``svg`` ...), per kind.
        options: filters and view options.
        diff_base: profiles to compare against (``-diff_base``; merged when several).
        subtract: profiles to subtract (``-base``).
        normalize: scale the sources to the base's total first (``-normalize``).
        pattern: the regex of ``peek`` and ``list``.
        seconds / timeout: for URL inputs, as ``go tool pprof -seconds/-timeout``.
        want_profile: also keep the filtered ``Profile`` (for ``-o FILE`` and proto
            output); set by the renderer lookup when a renderer needs one.
        progress: show a progress bar while fetching URL inputs (a terminal edge).
    """

    sources: Sequence[Source]
    kind: str = "top"
    format: str = "text"
    options: ViewOptions = field(default_factory=ViewOptions)
    diff_base: Sequence[Source] = ()
    subtract: Sequence[Source] = ()
    normalize: bool = False
    pattern: str = ""
    seconds: Optional[float] = None
    timeout: Optional[float] = None
    want_profile: bool = False
    progress: bool = False

    def __post_init__(self) -> None:
        if not self.sources:
            raise InputError("no profile given: name at least one file or URL")
        if self.diff_base and self.subtract:
            raise InputError("use either a diff base (-diff_base) or a base to subtract (-base)")

    @property
    def bases(self) -> Sequence[Source]:
        """The base inputs, whichever of ``diff_base`` / ``subtract`` is set."""
        return self.diff_base or self.subtract

    def needs_labels(self) -> bool:
        """Whether the stack table must keep sample labels (tag filters and frames, tag reports)."""
        o = self.options
        return bool(o.tagfocus or o.tagignore or o.tagroot or o.tagleaf) or self.kind in LABEL_KINDS

    def with_changes(self, **changes: object) -> ReportRequest:
        """Return a copy with ``changes`` applied (fields of this class)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_query(
        cls, sources: Sequence[Source], query: Mapping[str, Union[str, List[str]]],
        **defaults: object,
    ) -> ReportRequest:
        """Build a request from URL parameters (pprof's names; see module doc)."""
        options = ViewOptions.from_query(query)
        kwargs = dict(defaults)
        for key, name in (("report", "kind"), ("q", "pattern")):
            raw = query.get(key)
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            if raw is not None:
                kwargs[name] = raw
        return cls(sources=sources, options=options, **kwargs)  # type: ignore[arg-type]


#: Report kinds whose output is about labels, so the table keeps them. Not ``flame``:
#: the viewer's label filter asks for kind ``labels`` (``views.flame.labels_from_report``).
LABEL_KINDS = frozenset({"tags", "traces", "raw", "labels", "dot"})
