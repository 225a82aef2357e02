"""``load_any``: open a profile file of any supported format by sniffing its content."""

from __future__ import annotations

from typing import Optional

from profkit.model import Profile
from profkit.model.codec import PathLike


def load_any(path: PathLike, *, rate_hz: Optional[float] = None) -> Profile:
    """Load a profile from ``path`` in any format ``profkit.importers`` knows.

    pprof is tried first, then speedscope JSON, collapsed stacks and pstats (see
    ``profkit.importers.FORMATS``). ``rate_hz`` is the sampling rate for formats that
    do not record one (collapsed stacks). Raises ProfkitError with one line on failure.
    """
    from profkit.importers import detect_and_load

    return detect_and_load(path, rate_hz=rate_hz)
