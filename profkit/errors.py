"""Errors profkit raises on purpose. Each message is one line a user can act on.

    ProfkitError                  base; the CLI prints ``profkit: <message>`` and exits 1
    ├── ProfileFormatError        input is not a valid profile (truncated, hostile, wrong kind)
    ├── IncompatibleProfilesError merge/diff of profiles with different sample or period types
    ├── CollectorBusyError        a second CPU/wall capture while one runs
    ├── InputError                a missing/unreadable file, a bad option value
    └── CommandError              a command failed; carries ``exit_code``
"""

from __future__ import annotations

from profkit.model.errors import IncompatibleProfilesError, ProfileFormatError, ProfkitError

__all__ = [
    "CollectorBusyError",
    "CommandError",
    "IncompatibleProfilesError",
    "InputError",
    "ProfileFormatError",
    "ProfkitError",
]


class CollectorBusyError(ProfkitError):
    """A collector that allows one user at a time is already running."""


class InputError(ProfkitError):
    """A file is missing or unreadable, or an option has a bad value."""


class CommandError(ProfkitError):
    """A command failed; ``exit_code`` is what the CLI returns."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
