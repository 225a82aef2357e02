"""The profile data model: every message and field of pprof's ``profile.proto``.

Objects reference each other directly (a ``Sample`` holds ``Location`` objects, a
``Line`` holds its ``Function``) instead of by id, as google/pprof's ``profile``
package does; ids are kept so that a file round-trips unchanged. Strings are plain
``str`` values; the string table exists only on the wire (see ``codec``).

Contract: operations in ``profkit.analysis`` never modify their inputs; they return
new profiles. Code that builds a profile may mutate it until it hands it out.
This module imports nothing else of profkit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class ValueType:
    """What a sample value measures (``type``) and in which ``unit``."""

    type: str
    unit: str

    def __str__(self) -> str:
        return f"{self.type}/{self.unit}"


@dataclass(eq=False)
class Function:
    """A source function: name, system name, file and first line."""

    id: int
    name: str
    system_name: str = ""
    filename: str = ""
    start_line: int = 0

    def key(self) -> tuple[str, str, str, int]:
        """Return the identity pprof's merge uses for functions."""
        return (self.name, self.system_name, self.filename, self.start_line)


@dataclass(eq=False)
class Mapping:
    """An address range and the binary loaded there (optional for Python profiles)."""

    id: int
    memory_start: int = 0
    memory_limit: int = 0
    file_offset: int = 0
    filename: str = ""
    build_id: str = ""
    has_functions: bool = False
    has_filenames: bool = False
    has_line_numbers: bool = False
    has_inline_frames: bool = False


@dataclass(eq=False)
class Line:
    """A source position inside ``function``."""

    function: Function
    line: int = 0
    column: int = 0


@dataclass(eq=False)
class Location:
    """A code location; several ``lines`` mean inlining (the last one is the caller)."""

    id: int
    mapping: Optional[Mapping] = None
    address: int = 0
    lines: List[Line] = field(default_factory=list)
    is_folded: bool = False


@dataclass(eq=False)
class Sample:
    """One measurement: a stack (leaf first), one value per sample type, labels.

    ``labels`` holds string labels, ``num_labels`` numeric ones and ``num_units``
    the unit of each numeric value (parallel to ``num_labels``; may be empty).
    """

    locations: List[Location]
    values: List[int]
    labels: Dict[str, List[str]] = field(default_factory=dict)
    num_labels: Dict[str, List[int]] = field(default_factory=dict)
    num_units: Dict[str, List[str]] = field(default_factory=dict)


@dataclass(eq=False)
class Profile:
    """A whole profile, as in ``profile.proto``'s ``Profile`` message."""

    sample_types: List[ValueType] = field(default_factory=list)
    samples: List[Sample] = field(default_factory=list)
    mappings: List[Mapping] = field(default_factory=list)
    locations: List[Location] = field(default_factory=list)
    functions: List[Function] = field(default_factory=list)
    drop_frames: str = ""
    keep_frames: str = ""
    time_nanos: int = 0
    duration_nanos: int = 0
    period_type: Optional[ValueType] = None
    period: int = 0
    comments: List[str] = field(default_factory=list)
    default_sample_type: str = ""
    doc_url: str = ""

    def sample_index(self, name: str | int | None = None) -> int:
        """Return the index of a sample type, by type name, index, or pprof's default.

        ``None`` picks ``default_sample_type`` or, if unset, the last type (pprof's
        rule). Raises ``KeyError`` with the valid names when ``name`` is unknown.
        """
        if not self.sample_types:
            raise KeyError("profile has no sample types")
        if name is None or name == "":
            if self.default_sample_type:
                for i, st in enumerate(self.sample_types):
                    if st.type == self.default_sample_type:
                        return i
            return len(self.sample_types) - 1
        if isinstance(name, int) or (isinstance(name, str) and name.isdigit()):
            i = int(name)
            if 0 <= i < len(self.sample_types):
                return i
        else:
            for i, st in enumerate(self.sample_types):
                if st.type == name:
                    return i
        valid = ", ".join(st.type for st in self.sample_types)
        raise KeyError(f"unknown sample index {name!r} (this profile has: {valid})")

    def total(self, index: int) -> int:
        """Return the sum of sample values at ``index``."""
        return sum(s.values[index] for s in self.samples)

    def copy(self) -> Profile:
        """Return a deep copy that shares nothing mutable with this profile."""
        from profkit.model.copying import deep_copy

        return deep_copy(self)
