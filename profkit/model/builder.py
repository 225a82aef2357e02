"""``ProfileBuilder``: collectors and importers add stacks; it interns and aggregates.

Functions are interned by (name, filename, start_line), locations by (function,
line); samples with the same stack and labels are summed, so adding the same stack
twice costs a dict lookup. With ``limits`` (importers of untrusted files), distinct
samples, locations and functions are capped (``profkit.model.limits``: LimitError,
one line, when one more would pass). ``build()`` returns a valid Profile with one Mapping (so
``go tool pprof`` does not warn "Main binary filename not available").

Names: pprof strips ``<...>`` from names that look like C++ (``<module>`` becomes
``<unknown>``) unless the name contains ``.<``. ``qualified_name`` therefore prefixes
the module (``pkg.mod.<module>``, ``pkg.mod.f.<locals>.<lambda>``), which survives.
"""

from __future__ import annotations

import sys
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union
from typing import Mapping as MappingT

from profkit.model.limits import Limits
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType


class FrameKey(NamedTuple):
    """One stack frame: function name, file, current line, first line of the function."""

    name: str
    filename: str = ""
    line: int = 0
    start_line: int = 0


NumLabel = Union[int, Tuple[int, str]]
LabelKey = Tuple[Tuple[str, str], ...]


def qualified_name(module: str, qualname: str) -> str:
    """Return ``module.qualname``, a name that survives ``go tool pprof`` unchanged."""
    if not module:
        return qualname
    return f"{module}.{qualname}"


class ProfileBuilder:
    """Accumulate samples for one profile; not thread-safe (one writer at a time)."""

    def __init__(
        self,
        sample_types: Sequence[Tuple[str, str]],
        *,
        period_type: Optional[Tuple[str, str]] = None,
        period: int = 0,
        default_sample_type: str = "",
        doc_url: str = "",
        mapping_filename: str = "",
        comments: Sequence[str] = (),
        limits: Optional[Limits] = None,
    ) -> None:
        """``limits``: bound what untrusted input can build (importers pass
        ``current_limits()``); None (collectors) means no bound."""
        self.sample_types = [ValueType(t, u) for t, u in sample_types]
        self.period_type = ValueType(*period_type) if period_type else None
        self.period = period
        self.default_sample_type = default_sample_type
        self.doc_url = doc_url
        self.comments = list(comments)
        self.time_nanos = time.time_ns()
        self.mapping = Mapping(
            1,
            filename=mapping_filename or sys.executable or "python",
            has_functions=True,
            has_filenames=True,
            has_line_numbers=True,
        )
        self._functions: Dict[Tuple[str, str, int], Function] = {}
        self._locations: Dict[FrameKey, Location] = {}
        self._samples: Dict[Tuple[Tuple[int, ...], LabelKey, LabelKey], Sample] = {}
        self._width = len(self.sample_types)
        self._limits = limits

    def function(self, name: str, filename: str = "", start_line: int = 0) -> Function:
        """Return the interned Function for (name, filename, start_line)."""
        key = (name, filename, start_line)
        f = self._functions.get(key)
        if f is None:
            if self._limits is not None:
                self._limits.check("functions", len(self._functions) + 1)
            f = Function(len(self._functions) + 1, name, name, filename, start_line)
            self._functions[key] = f
        return f

    def location(self, frame: FrameKey) -> Location:
        """Return the interned Location for one frame."""
        loc = self._locations.get(frame)
        if loc is None:
            if self._limits is not None:
                self._limits.check("locations", len(self._locations) + 1)
            fn = self.function(frame.name, frame.filename, frame.start_line)
            loc = Location(len(self._locations) + 1, self.mapping, 0, [Line(fn, frame.line)])
            self._locations[frame] = loc
        return loc

    def add(
        self,
        stack: Sequence[FrameKey],
        values: Sequence[int],
        labels: Optional[MappingT[str, str]] = None,
        num_labels: Optional[MappingT[str, NumLabel]] = None,
    ) -> None:
        """Add ``values`` for ``stack`` (leaf first); equal stack+labels are summed."""
        locs = [self.location(fr) for fr in stack]
        self.add_locations(locs, values, labels, num_labels)

    def add_locations(
        self,
        locations: Sequence[Location],
        values: Sequence[int],
        labels: Optional[MappingT[str, str]] = None,
        num_labels: Optional[MappingT[str, NumLabel]] = None,
    ) -> None:
        """Like ``add`` with already-interned locations (from ``location()``)."""
        if len(values) != self._width:
            raise ValueError(f"expected {self._width} values, got {len(values)}")
        lkey: LabelKey = tuple(sorted(labels.items())) if labels else ()
        nkey: LabelKey = (
            tuple(sorted((k, repr(v)) for k, v in num_labels.items())) if num_labels else ()
        )
        key = (tuple(loc.id for loc in locations), lkey, nkey)
        s = self._samples.get(key)
        if s is None:
            if self._limits is not None:
                self._limits.check("samples", len(self._samples) + 1)
            s = Sample(list(locations), list(values))
            if labels:
                s.labels = {k: [v] for k, v in labels.items()}
            if num_labels:
                for k, v in num_labels.items():
                    if isinstance(v, tuple):
                        s.num_labels[k] = [v[0]]
                        s.num_units[k] = [v[1]]
                    else:
                        s.num_labels[k] = [v]
            self._samples[key] = s
        else:
            vals = s.values
            for i, v in enumerate(values):
                vals[i] += v

    def build(self, *, duration_nanos: int = 0, time_nanos: Optional[int] = None) -> Profile:
        """Return the Profile built so far (the builder may keep adding afterwards)."""
        functions: List[Function] = list(self._functions.values())
        return Profile(
            sample_types=list(self.sample_types),
            samples=[s for s in self._samples.values() if any(s.values)],
            mappings=[self.mapping],
            locations=list(self._locations.values()),
            functions=functions,
            time_nanos=self.time_nanos if time_nanos is None else time_nanos,
            duration_nanos=duration_nanos,
            period_type=self.period_type,
            period=self.period,
            comments=list(self.comments),
            default_sample_type=self.default_sample_type,
            doc_url=self.doc_url,
        )
