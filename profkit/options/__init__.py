"""``ViewOptions``: the one options object shared by the CLI, the web viewer and the
middleware, with pprof's option names and URL parameters (``f``, ``i``, ``h``, ``s``,
``sf``, ``prunefrom``, ``si``, ``g``, ``n``, ``nf``, ``ef``, ``sort``, ``tf``, ``ti``,
``ts``, ``th``, ``tagroot``, ``tagleaf``, ``mean``, ``unit``, ``dropneg``, ``rel``,
``calltree``, ``trim``, ``noinlines``; see ``URL_NAMES``).

``from_query`` / ``to_query`` round-trip: ``ViewOptions.from_query(o.to_query()) == o``
for options a URL may carry (all but ``source_path`` and ``trim_path``).
Values are checked on construction (``validate``): a bad regex (pprof's dialect,
``profkit.options.regex``), granularity or number is an ``InputError`` with one
line. ``diff_base`` is not an option here: it is part of ``ReportRequest``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Dict, List, Mapping, Optional, Union

from profkit.errors import InputError
from profkit.options.regex import compile_pattern

__all__ = ["GRANULARITIES", "URL_NAMES", "ViewOptions"]

#: Granularities of reports, as pprof's (``addresses``: a node per location address
#: and line; Python profiles have no addresses, so there it is ``lines`` granularity).
GRANULARITIES = ("functions", "filefunctions", "files", "lines", "addresses")

#: option field -> pprof URL parameter (``internal/driver/config.go``'s urlparam)
URL_NAMES = {
    "sample_index": "si",
    "mean": "mean",
    "focus": "f",
    "ignore": "i",
    "hide": "h",
    "show": "s",
    "show_from": "sf",
    "prune_from": "prunefrom",
    "tagfocus": "tf",
    "tagignore": "ti",
    "tagshow": "ts",
    "taghide": "th",
    "tagroot": "tagroot",
    "tagleaf": "tagleaf",
    "granularity": "g",
    "nodecount": "n",
    "nodefraction": "nf",
    "edgefraction": "ef",
    "cum": "sort",
    "unit": "unit",
    "drop_negative": "dropneg",
    "relative_percentages": "rel",
    "divide_by": "divide_by",
    "call_tree": "calltree",
    "trim": "trim",
    "noinlines": "noinlines",
    "all_frames": "all_frames",
}
#: fields holding one regex in pprof's dialect
REGEX_FIELDS = ("focus", "ignore", "hide", "show", "show_from", "prune_from", "tagshow",
                "taghide")
_BOOL_FIELDS = ("mean", "drop_negative", "relative_percentages", "call_tree", "trim",
                "noinlines", "all_frames")
_TRUE = ("1", "t", "true", "yes", "on")
_FALSE = ("0", "f", "false", "no", "off")


@dataclass
class ViewOptions:
    """What to show of a profile; defaults are pprof's for ``-top``.

    Attributes:
        sample_index: a sample type name or index as text; "" = pprof's default
            (``default_sample_type``, else the last type).
        mean: show value / count (the sample's first value) per node, type ``mean_T``.
        focus / ignore: regexes (pprof's dialect, unanchored) on function names, file
            names and the mapping file: keep only samples with a matching frame /
            drop samples with a matching frame.
        hide / show: remove matching frames / keep only matching frames; samples left
            with no frame are dropped.
        show_from: drop the frames above (callers of) the outermost matching frame;
            samples with no match are dropped.
        prune_from: drop the frames below (callees of) the innermost matching function.
        tagfocus / tagignore: label filters in pprof's syntax (``key=re``, ``re1,re2``,
            numeric ranges such as ``128kb:512kb``).
        tagshow / taghide: keep only / remove the labels whose key matches.
        tagroot / tagleaf: comma-separated label keys shown as pseudo frames
            (``value`` in file ``key``) above the root / below the leaf of each sample.
        granularity: one of ``GRANULARITIES``.
        nodecount: rows to show; 0 = all (pprof's default for text).
        nodefraction: drop nodes whose |cum| is below this fraction of the total.
        edgefraction: drop edges below this fraction of the total (call graphs).
        cum: sort by cum instead of flat.
        unit: the unit values print in (``minimum`` = pprof's choice, ``ms``, ``MB``...).
        drop_negative: hide nodes with a negative value (diffs).
        relative_percentages: percentages of what the filters kept, not of the whole.
        divide_by: print values divided by this number (percentages unchanged).
        call_tree: call graphs split nodes by calling context (a tree).
        trim: apply nodecount/nodefraction/edgefraction (pprof turns it off for
            peek, list and file outputs).
        noinlines: attribute inlined calls to the function they were inlined into.
        all_frames: do not apply the profile's own drop_frames/keep_frames.
        source_path: where ``list`` looks for source files (``os.pathsep``-separated;
            "" = the current directory); its base names also trim file names as
            pprof's ``-source_path`` does (``profkit.views.paths``).
        trim_path: prefixes cut from file names before they are shown or looked up
            (``os.pathsep``-separated; pprof's ``-trim_path``).

    ``source_path`` and ``trim_path`` name directories of the machine the report runs
    on, so, as in pprof, no URL sets them (``URL_NAMES`` leaves them out): an HTTP edge
    never reads where its client points.
    """

    sample_index: str = ""
    mean: bool = False
    focus: str = ""
    ignore: str = ""
    hide: str = ""
    show: str = ""
    show_from: str = ""
    prune_from: str = ""
    tagfocus: str = ""
    tagignore: str = ""
    tagshow: str = ""
    taghide: str = ""
    tagroot: str = ""
    tagleaf: str = ""
    granularity: str = "functions"
    nodecount: int = 0
    nodefraction: float = 0.005
    edgefraction: float = 0.001
    cum: bool = False
    unit: str = "minimum"
    drop_negative: bool = False
    relative_percentages: bool = False
    divide_by: float = 1.0
    call_tree: bool = False
    trim: bool = True
    noinlines: bool = False
    all_frames: bool = False
    source_path: str = ""
    trim_path: str = ""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise InputError (one line) if a regex, granularity or number is invalid."""
        for name in REGEX_FIELDS:
            value = getattr(self, name)
            if value:
                compile_pattern(name, value)
        if self.granularity not in GRANULARITIES:
            raise InputError(
                f"unknown granularity {self.granularity!r} (use one of {', '.join(GRANULARITIES)})"
            )
        if self.nodecount < 0:
            raise InputError(f"nodecount must be >= 0, got {self.nodecount}")
        for name in ("nodefraction", "edgefraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise InputError(f"{name} must be in [0, 1], got {value}")
        if self.divide_by == 0 or not math.isfinite(self.divide_by):
            raise InputError(f"divide_by must be a finite non-zero number, got {self.divide_by}")
        if not self.unit:
            raise InputError("unit must not be empty (use 'minimum' for pprof's choice)")

    def active_filters(self) -> List[str]:
        """Return pprof's "Active filters" lines (``focus=RE`` ...), in pprof's order."""
        names = ("focus", "ignore", "hide", "show", "show_from", "tagfocus", "tagignore",
                 "tagshow", "taghide")
        return [f"{n}={getattr(self, n)}" for n in names if getattr(self, n)]

    @property
    def ratio(self) -> float:
        """pprof's display ratio, ``1 / divide_by``."""
        return 1 / self.divide_by

    def to_query(self) -> Dict[str, str]:
        """Return the non-default options as pprof's URL parameters."""
        default = ViewOptions()
        out: Dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name) or f.name not in URL_NAMES:
                continue
            key = URL_NAMES[f.name]
            if f.name == "cum":
                out[key] = "cum" if value else "flat"
            elif f.name in _BOOL_FIELDS:
                out[key] = "true" if value else "false"
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
            key = URL_NAMES.get(f.name)
            if key is None:  # source_path, trim_path: never from a URL
                continue
            raw: Optional[Union[str, List[str]]] = query.get(key)
            if isinstance(raw, list):
                raw = raw[-1] if raw else None
            if raw is None:
                continue
            kwargs[f.name] = parse_value(f.name, raw, key)
        return cls(**kwargs)  # type: ignore[arg-type]


def parse_value(name: str, raw: str, shown: str = "") -> object:
    """Return option ``name``'s value parsed from text (InputError naming ``shown``)."""
    shown = shown or name
    if name == "cum":
        if raw not in ("cum", "flat"):
            raise InputError(f"sort must be 'flat' or 'cum', got {raw!r}")
        return raw == "cum"
    if name in _BOOL_FIELDS:
        low = raw.strip().lower()
        if low in _TRUE or low == "":
            return True
        if low in _FALSE:
            return False
        raise InputError(f"{shown} must be true or false, got {raw!r}")
    if name == "nodecount":
        return _parse_number(raw, int, shown)
    if name in ("nodefraction", "edgefraction", "divide_by"):
        return _parse_number(raw, float, shown)
    return raw


def _parse_number(raw: str, kind: type, name: str) -> Union[int, float]:
    try:
        return kind(raw)  # type: ignore[no-any-return]
    except ValueError:
        raise InputError(f"{name} must be a number, got {raw!r}") from None
