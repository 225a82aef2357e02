"""Importers: turn other profilers' files into Profiles, and pick one by sniffing.

Each format is a module here with ``sniff(head: bytes, path) -> bool`` (``head`` is
the first bytes of the file, already gunzipped) and ``load(path) -> Profile``;
``FORMATS`` lists them in the order they are tried (pprof first); each sniffer
must reject the others' heads (binary formats contain control bytes, text ones do not). To add a format, append a ``Format`` to the list.
Every importer returns a valid profile (``check_valid``) with one Mapping and raises
``ProfileFormatError`` with one line on malformed input.
"""

from __future__ import annotations

import os
from typing import Callable, List, NamedTuple, Optional

from profkit.importers import collapsed, memray, pprof, pstats, pyinstrument, speedscope
from profkit.importers._common import read_head, read_payload
from profkit.model.codec import PathLike, read_bytes
from profkit.model.errors import ProfileFormatError
from profkit.model.limits import LimitError
from profkit.model.profile import Profile


class Format(NamedTuple):
    """One importable format: how to recognise it and how to load it."""

    name: str
    description: str
    sniff: Callable[[bytes, str], bool]
    load: Callable[[PathLike], Profile]
    load_with_rate: Optional[Callable[[PathLike, float], Profile]] = None


FORMATS: List[Format] = [
    Format("pprof", "pprof", pprof.sniff, pprof.load),
    Format("pyinstrument", "pyinstrument session/JSON", pyinstrument.sniff, pyinstrument.load),
    Format("speedscope", "speedscope JSON", speedscope.sniff, speedscope.load),
    Format(
        "collapsed", "collapsed stacks", collapsed.sniff, collapsed.load,
        load_with_rate=lambda path, rate: collapsed.load(path, rate_hz=rate),
    ),
    Format("pstats", "pstats", pstats.sniff, pstats.load),
    Format("memray", "memray capture", memray.sniff, memray.load),
]


def detect(path: PathLike) -> Format:
    """Return the Format of the file at ``path``, by content (never by extension).

    Raises ProfileFormatError: "cannot tell the format of X: expected ..." when no
    importer recognises it (formats are tried in list order), or a one-line error if
    the file is missing or empty, or is gzip'd and its stream is broken or inflates
    past the input cap (the same message as the pprof codec's, checked only then).
    """
    name = os.fspath(path)
    head = read_head(path)
    if not head.strip():
        raise ProfileFormatError(f"{name}: empty file: not a profile")
    for fmt in FORMATS:
        if fmt.sniff(head, name):
            return fmt
    if read_bytes(path, limit=2, head=True) == b"\x1f\x8b":
        read_payload(path)  # a gzip bomb or broken stream: say so, as the pprof codec does
    descriptions = [f.description for f in FORMATS]
    expected = ", ".join(descriptions[:-1]) + " or " + descriptions[-1]
    raise ProfileFormatError(f"cannot tell the format of {name}: expected {expected}")


def detect_and_load(path: PathLike, *, rate_hz: Optional[float] = None) -> Profile:
    """Load ``path`` with the importer that recognises its content.

    ``rate_hz`` is the sampling rate of formats that do not record it (collapsed
    stacks): it adds a ``cpu/nanoseconds`` value; other formats ignore it.
    Raises ProfileFormatError with one line on unknown or malformed input.
    """
    fmt = detect(path)
    try:
        if rate_hz is not None and fmt.load_with_rate is not None:
            return fmt.load_with_rate(path, rate_hz)
        return fmt.load(path)
    except LimitError as e:  # from the builder, which does not know the file: name it
        if str(e).startswith("profile is too large"):
            raise LimitError(e.limit, e.value, os.fspath(path)) from None
        raise


__all__ = ["FORMATS", "Format", "detect", "detect_and_load"]
