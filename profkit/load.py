"""``load_any``: open a profile file of any supported format by sniffing its content."""

from __future__ import annotations

from profkit.model import Profile
from profkit.model.codec import PathLike, load


def load_any(path: PathLike) -> Profile:
    """Load a profile from ``path``; raises ProfkitError with one line on failure."""
    return load(path)
