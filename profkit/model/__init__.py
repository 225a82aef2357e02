"""profile.proto model, codec and builder. Imports nothing else of profkit.

Names are loaded on first use (PEP 562), so that importing ``profkit.model.errors``
or the builder does not load protobuf: ``profkit run`` imports the collectors before
the program starts, and only needs the codec when it writes the profiles.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from profkit.model.errors import IncompatibleProfilesError, ProfileFormatError, ProfkitError

if TYPE_CHECKING:
    from profkit.model.builder import FrameKey, ProfileBuilder
    from profkit.model.codec import load, parse, save, serialize
    from profkit.model.profile import (
        Function,
        Line,
        Location,
        Mapping,
        Profile,
        Sample,
        ValueType,
    )
    from profkit.model.validate import check_int64, check_valid

_HOME = {
    "FrameKey": "builder",
    "ProfileBuilder": "builder",
    "load": "codec",
    "parse": "codec",
    "save": "codec",
    "serialize": "codec",
    "Function": "profile",
    "Line": "profile",
    "Location": "profile",
    "Mapping": "profile",
    "Profile": "profile",
    "Sample": "profile",
    "ValueType": "profile",
    "check_int64": "validate",
    "check_valid": "validate",
}

__all__ = [
    "FrameKey",
    "Function",
    "IncompatibleProfilesError",
    "Line",
    "Location",
    "Mapping",
    "Profile",
    "ProfileBuilder",
    "ProfileFormatError",
    "ProfkitError",
    "Sample",
    "ValueType",
    "check_int64",
    "check_valid",
    "load",
    "parse",
    "save",
    "serialize",
]


def __getattr__(name: str) -> Any:
    """Import the submodule that defines ``name`` on first access, then cache the name here."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'profkit.model' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"profkit.model.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
