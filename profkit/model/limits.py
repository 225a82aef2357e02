"""Decoding limits: the one place that says how much of a profile profkit will hold.

A small file can describe a huge profile (0.4 MB of gzip holding 25 M samples), and
every path that decodes untrusted input -- ``codec.parse``/``decode``,
``analysis.stacks.from_message``, the importers through ``ProfileBuilder``, and so
the viewer and the endpoints -- checks these counts before or while it builds
objects, so that peak memory is bounded by what a real profile needs:

=========  =========================  ==========  ===========================
limit      counts                     default     environment variable
=========  =========================  ==========  ===========================
samples    samples (after merging     1,000,000   ``PROFKIT_MAX_SAMPLES``
           runs of identical ones)
locations  locations (and mappings)     500,000   ``PROFKIT_MAX_LOCATIONS``
functions  functions                    500,000   ``PROFKIT_MAX_FUNCTIONS``
strings    string table entries (and  2,000,000   ``PROFKIT_MAX_STRINGS``
           other top-level entries)
frames     location references,       32,000,000  ``PROFKIT_MAX_FRAMES``
           values and labels of all
           samples, lines of all
           locations
=========  =========================  ==========  ===========================

The largest real profiles seen have ~231 k samples (the corpus's large.cpu: 20 k
samples, 23 k locations), so the defaults are four to twenty times what is needed.
They are set so that a hostile profile just under all of them still decodes in
about 2 GB (a full ``Profile`` costs ~700 bytes per sample, ~500 per location and
function); a profile over one is refused in far less. The variables are read at every call (``current_limits``).
Exceeding one raises ``LimitError``, one line that names the limit and the variable
that raises it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Tuple

from profkit.model.errors import ProfileFormatError, ProfkitError

__all__ = ["DEFAULTS", "ENV", "LimitError", "Limits", "current_limits", "positive_env"]

#: limit name -> (default, environment variable, what is counted, for messages)
_TABLE: Dict[str, Tuple[int, str, str]] = {
    "samples": (1_000_000, "PROFKIT_MAX_SAMPLES", "samples"),
    "locations": (500_000, "PROFKIT_MAX_LOCATIONS", "locations"),
    "functions": (500_000, "PROFKIT_MAX_FUNCTIONS", "functions"),
    "strings": (2_000_000, "PROFKIT_MAX_STRINGS", "strings"),
    "frames": (32_000_000, "PROFKIT_MAX_FRAMES", "frames (stack entries, values and labels)"),
}
#: limit name -> default value
DEFAULTS: Dict[str, int] = {k: v[0] for k, v in _TABLE.items()}
#: limit name -> environment variable that overrides it
ENV: Dict[str, str] = {k: v[1] for k, v in _TABLE.items()}


class LimitError(ProfileFormatError):
    """A profile exceeds a decoding limit; ``limit`` is its name (``"samples"``...)."""

    def __init__(self, limit: str, value: int, where: str = "") -> None:
        _, env, what = _TABLE[limit]
        prefix = f"{where}: " if where else ""
        super().__init__(
            f"{prefix}profile is too large: more than {value} {what} (the {limit} limit); "
            f"raise {env} if it is genuine"
        )
        self.limit = limit
        self.value = value


@dataclass(frozen=True)
class Limits:
    """The limits in force; compare counts with ``check`` (see the module doc)."""

    samples: int = DEFAULTS["samples"]
    locations: int = DEFAULTS["locations"]
    functions: int = DEFAULTS["functions"]
    strings: int = DEFAULTS["strings"]
    frames: int = DEFAULTS["frames"]

    def check(self, limit: str, count: int, where: str = "") -> None:
        """Raise LimitError if ``count`` exceeds the limit named ``limit`` (``where``: file)."""
        value: int = getattr(self, limit)
        if count > value:
            raise LimitError(limit, value, where)

    def check_message(self, msg: Any) -> None:
        """Check the top-level counts of a decoded ``profile.proto`` message (O(1)).

        Samples, locations, mappings, functions, strings, sample types and comments;
        frames are counted by ``profkit.model.wirescan`` before decoding.
        """
        self.check("samples", len(msg.sample))
        self.check("locations", len(msg.location))
        self.check("locations", len(msg.mapping))
        self.check("functions", len(msg.function))
        self.check("strings", len(msg.string_table))
        self.check("strings", len(msg.comment) + len(msg.sample_type))


def positive_env(env: str, default: int, what: str = "number") -> int:
    """Return ``$env`` as a positive integer, ``default`` when unset or blank.

    Raises ProfkitError (one line: ``ENV='raw' is not a positive <what>: unset it or
    give one, e.g. <default>``) for anything else. The one parser of every
    ``PROFKIT_MAX_*`` variable, the input byte cap of ``fileio`` included.
    """
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ProfkitError(
            f"{env}={raw!r} is not a positive {what}: unset it or give one, e.g. {default}"
        )
    return value


def _read(limit: str) -> int:
    default, env, _ = _TABLE[limit]
    return positive_env(env, default)


def current_limits() -> Limits:
    """Return the limits now: each ``$PROFKIT_MAX_*`` variable if set, else its default.

    Raises ProfkitError (one line) if a variable is set but not a positive integer.
    """
    return Limits(**{k: _read(k) for k in _TABLE})
