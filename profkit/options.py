"""``ViewOptions``: the one options object shared by the CLI, the web viewer and the
middleware, with pprof's option names and URL parameters (``f``, ``i``, ``h``, ``s``,
``si``, ``g``, ``n``, ``nf``, ``sort``, ``tf``, ``ti``).

``from_query`` / ``to_query`` round-trip: ``ViewOptions.from_query(o.to_query()) == o``.
Values are checked on construction (``validate``): a bad regex or granularity is an
``InputError`` with one line. ``diff_base`` is not an option here: the caller loads
the base and calls ``profkit.analysis.diff``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Dict, List, Mapping, Optional, Union

from profkit.errors import InputError

__all__ = ["GRANULARITIES", "ViewOptions"]

#: Granularities profkit's reports support (pprof's ``addresses`` is not: no addresses).
GRANULARITIES = ("functions", "filefunctions", "files", "lines")

# option field -> pprof URL parameter
_URL_NAMES = {
    "sample_index": "si",
    "focus": "f",
    "ignore": "i",
    "hide": "h",
    "show": "s",
    "tagfocus": "tf",
    "tagignore": "ti",
    "granularity": "g",
    "nodecount": "n",
    "nodefraction": "nf",
    "cum": "sort",
}
_REGEX_FIELDS = ("focus", "ignore", "hide", "show")


@dataclass
class ViewOptions:
    """What to show of a profile; defaults are pprof's for ``-top``.

    Attributes:
        sample_index: a sample type name or index as text; "" = pprof's default
            (``default_sample_type``, else the last type).
        focus / ignore: regexes (Python ``re``, unanchored) on function names, file
            names and the mapping file: keep only samples with a matching frame /
            drop samples with a matching frame.
        hide / show: remove matching frames / keep only matching frames; samples left
            with no frame are dropped.
        tagfocus / tagignore: label filters in pprof's syntax (``key=re``, ``re1,re2``,
            numeric ranges such as ``128kb:512kb``).
        granularity: one of ``GRANULARITIES``.
        nodecount: rows to show; 0 = all (pprof's default for text).
        nodefraction: drop nodes whose |cum| is below this fraction of the total.
        cum: sort by cum instead of flat.
    """

    sample_index: str = ""
    focus: str = ""
    ignore: str = ""
    hide: str = ""
    show: str = ""
    tagfocus: str = ""
    tagignore: str = ""
    granularity: str = "functions"
    nodecount: int = 0
    nodefraction: float = 0.005
    cum: bool = False

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InputError (one line) if a regex, granularity or number is invalid."""
        for name in _REGEX_FIELDS:
            value = getattr(self, name)
            if value:
                try:
                    re.compile(value)
                except re.error as e:
                    raise InputError(f"parsing {name} regexp {value!r}: {e}") from None
        if self.granularity not in GRANULARITIES:
            raise InputError(
                f"unknown granularity {self.granularity!r} (use one of {', '.join(GRANULARITIES)})"
            )
        if self.nodecount < 0:
            raise InputError(f"nodecount must be >= 0, got {self.nodecount}")
        if not 0.0 <= self.nodefraction <= 1.0:
            raise InputError(f"nodefraction must be in [0, 1], got {self.nodefraction}")

    def active_filters(self) -> List[str]:
        """Return pprof's "Active filters" lines (``focus=RE`` ...), in pprof's order."""
        names = ("focus", "ignore", "hide", "show", "tagfocus", "tagignore")
        return [f"{n}={getattr(self, n)}" for n in names if getattr(self, n)]

    def to_query(self) -> Dict[str, str]:
        """Return the non-default options as pprof's URL parameters."""
        default = ViewOptions()
        out: Dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            key = _URL_NAMES[f.name]
            if f.name == "cum":
                out[key] = "cum" if value else "flat"
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_query(cls, query: Mapping[str, Union[str, List[str]]]) -> ViewOptions:
        """Build options from URL parameters (pprof's names; unknown keys are ignored).

        Accepts a plain dict or a multi-dict whose values are lists (the last wins).
        Raises InputError on a bad value.
        """
        kwargs: Dict[str, object] = {}
        for f in fields(cls):
            raw: Optional[Union[str, List[str]]] = query.get(_URL_NAMES[f.name])
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            if raw is None:
                continue
            if f.name == "cum":
                if raw not in ("cum", "flat"):
                    raise InputError(f"sort must be 'flat' or 'cum', got {raw!r}")
                kwargs["cum"] = raw == "cum"
            elif f.name == "nodecount":
                kwargs[f.name] = _parse_number(raw, int, "n")
            elif f.name == "nodefraction":
                kwargs[f.name] = _parse_number(raw, float, "nf")
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)  # type: ignore[arg-type]


def _parse_number(raw: str, kind: type, name: str) -> Union[int, float]:
    try:
        return kind(raw)  # type: ignore[no-any-return]
    except ValueError:
        raise InputError(f"{name} must be a number, got {raw!r}") from None
