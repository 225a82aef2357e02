"""profile.proto model, codec and builder. Imports nothing else of profkit."""

from profkit.model.builder import FrameKey, ProfileBuilder
from profkit.model.codec import load, parse, save, serialize
from profkit.model.errors import IncompatibleProfilesError, ProfileFormatError, ProfkitError
from profkit.model.profile import Function, Line, Location, Mapping, Profile, Sample, ValueType
from profkit.model.validate import check_int64, check_valid

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
