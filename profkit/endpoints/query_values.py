"""The values of ``/debug/profile`` query parameters, read as Go's ``net/http/pprof`` reads them.

``seconds`` is a positive integer for delta profiles (Go's ``strconv.ParseInt``) and a
positive finite decimal for the cpu/wall window; ``debug`` is a level >= 0. Each parser
returns None for a value that is not one, and the messages below are the 400 bodies
Go's handlers give (endpoints.md §3-§5). No number longer than 64 characters is
converted. ``fan_out_window`` says, from the same values, how long every worker
of a multi-process server must sample for one request.
"""

from __future__ import annotations

import math
import re
from typing import Optional

from profkit.endpoints import http
from profkit.endpoints.catalog import BY_NAME
from profkit.endpoints.config import EndpointConfig

BAD_SECONDS = 'invalid value for "seconds" - must be a positive integer'
BAD_WINDOW = 'invalid value for "seconds" - must be a positive number'
NO_SECONDS = '"seconds" parameter is not supported for this profile type'
SECONDS_AND_DEBUG = "seconds and debug params are incompatible"
BAD_DEBUG = 'invalid value for "debug" - must be a non-negative integer'

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_MAX_DIGITS = 64  # longer numbers are refused before any conversion
_INT64_MAX = 2**63 - 1


def parse_int(raw: str) -> Optional[int]:
    """Go's ``strconv.ParseInt(raw, 10, 64)``: optional sign, ASCII digits, nothing else."""
    if len(raw) > _MAX_DIGITS or not _INTEGER.fullmatch(raw):
        return None
    value = int(raw)
    return value if -_INT64_MAX - 1 <= value <= _INT64_MAX else None


def parse_debug(raw: Optional[str]) -> Optional[int]:
    """Return ``debug`` as a level >= 0 (absent or empty = 0, as Go's ``FormValue``), else None."""
    if not raw:
        return 0
    value = parse_int(raw)
    return value if value is not None and value >= 0 else None


def parse_seconds(raw: str, *, integer: bool) -> Optional[float]:
    """Return a positive finite number of seconds, or None if ``raw`` is not one.

    ``integer`` (delta profiles) accepts what Go's ``strconv.ParseInt`` does: an
    optional sign and ASCII digits (no ``_``, no spaces) within int64. Otherwise a plain
    decimal such as ``1.5`` or ``2e1`` (no ``_``, spaces, ``inf`` or ``nan``).
    """
    if integer:
        whole = parse_int(raw)
        return whole if whole is not None and whole > 0 else None  # exact, for messages
    if len(raw) > _MAX_DIGITS or not _DECIMAL.fullmatch(raw):
        return None
    value = float(raw)
    return value if math.isfinite(value) and value > 0 else None


def seconds_text(seconds: float) -> str:
    """``10`` for whole numbers (never ``1e+06``), else the shortest exact decimal."""
    return str(int(seconds)) if seconds == int(seconds) else repr(seconds)


def fan_out_window(request: http.Request, config: EndpointConfig) -> Optional[float]:
    """Seconds of a profile request every worker must answer (0: a snapshot), else None.

    Profiles (cpu, wall, heap, ..., with or without ``seconds``) fan out; the index,
    ``cmdline``, request profiles and ``debug`` text answer from this worker alone.
    """
    kind = BY_NAME.get(request.path[1:])
    query = request.query()
    if kind is None or kind.name == "cmdline" or parse_debug(query.get("debug")) != 0:
        return None
    raw = query.get("seconds")
    if raw is None:
        return float(min(config.default_seconds, config.max_seconds)) if kind.timed else 0.0
    parsed = parse_seconds(raw, integer=False)
    return min(parsed, float(config.max_seconds)) if parsed is not None else 0.0
