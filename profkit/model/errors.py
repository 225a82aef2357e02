"""The model's own errors (the model imports nothing else of profkit).

``profkit.errors`` re-exports these and adds the rest of the tree.
"""

from __future__ import annotations


class ProfkitError(Exception):
    """Base class of profkit's deliberate errors; ``str(e)`` is one actionable line."""

    exit_code = 1


class ProfileFormatError(ProfkitError):
    """The bytes are not a valid profile (truncated, hostile, wrong kind of file)."""


class IncompatibleProfilesError(ProfkitError):
    """Profiles cannot be combined (different sample types or period types)."""
