"""Loading a report's inputs: files (any format profkit reads), URLs, PIDs, in-memory profiles.

This is the one place inputs are loaded (for reports, and through ``fetch_url`` for
``profkit capture``). A source is a path; a URL (``http://host:port/debug/profile/
profile?seconds=5``, fetched as ``go tool pprof URL`` does, ``report/fetch_url.py``,
with ``Fetch``'s ``seconds``/``timeout`` and progress bar); ``pid:N`` (a running
Python process sampled with py-spy for ``seconds``, default 10:
``profkit.collect.pyspy``); or a Profile already in memory. ``load_table`` takes
the fast path of a single pprof file (a StackTable straight from the decoded
message, no Python object per sample); ``load_merged`` loads and merges several
inputs with pprof's Merge semantics, naming the first incompatible one. Errors
are ProfkitError with one line that names the input at fault.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence

from profkit.analysis.stacks import StackTable, from_message, from_profile
from profkit.model.errors import ProfileFormatError

if TYPE_CHECKING:
    from profkit.model.profile import Profile
    from profkit.report.request import Source

__all__ = [
    "Fetch", "describe", "is_local", "load_merged", "load_one", "load_table",
    "without_dropped_frames",
]

PID_PREFIX = "pid:"


@dataclass(frozen=True)
class Fetch:
    """How remote sources are fetched: ``go tool pprof``'s ``-seconds``/``-timeout``."""

    seconds: Optional[float] = None
    timeout: Optional[float] = None
    progress: bool = False


def is_local(source: Source) -> bool:
    """Return whether ``source`` is a file path (not a URL, a PID or a Profile)."""
    # fetch_url.is_url's rule, without importing fetch_url (urllib, http, ssl: ~20 ms
    # of every report's start-up)
    return isinstance(source, str) and not source.startswith(
        ("http://", "https://", PID_PREFIX))


def describe(source: Source) -> str:
    """Return the name errors and headers use for ``source``."""
    return source if isinstance(source, str) else "<profile>"


def without_dropped_frames(t: StackTable, drop_frames: str, keep_frames: str) -> StackTable:
    """Apply a profile's own drop/keep frames as ``go tool pprof`` does on load.

    Patterns that do not compile are ignored, as pprof ignores RemoveUninteresting's
    error: the profile still opens, with every frame.
    """
    if not drop_frames:
        return t
    from profkit.analysis.prune import compile_frames, remove_uninteresting
    from profkit.errors import InputError

    try:
        drop, keep = compile_frames(drop_frames, keep_frames)
    except InputError:
        return t
    return remove_uninteresting(t, drop, keep)


def load_table(path: str, *, with_labels: bool, all_frames: bool = True) -> StackTable:
    """Return the StackTable of the profile file at ``path`` (ProfkitError with one line).

    Unless ``all_frames``, the profile's own ``drop_frames``/``keep_frames`` are
    applied (``without_dropped_frames``).

    pprof files are read straight from the decoded message; anything the fast path
    does not accept outright (other formats, malformed messages) goes through
    ``profkit.load.load_any``, which owns the error messages. Only a broken or
    bomb-sized gzip stream is reported here directly.
    """
    from profkit.analysis.stacks_wire import from_file_bytes
    from profkit.model.fileio import read_bytes
    from profkit.model.limits import LimitError

    data = read_bytes(path)
    try:
        wire = from_file_bytes(data, with_labels=with_labels)
    except LimitError as e:
        raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
    if wire is not None:
        if all_frames or not wire.drop_frames:
            return wire.table
        return without_dropped_frames(wire.table, wire.drop_frames, wire.keep_frames)
    from profkit.model.codec import decode

    msg = None
    try:
        msg = decode(data)
    except ProfileFormatError as e:
        if isinstance(e, LimitError) or "gzip" in str(e) or "inflates" in str(e):
            raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
    if msg is not None and msg.sample_type and msg.string_table:
        try:
            table = from_message(msg, with_labels=with_labels)
        except LimitError as e:
            raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
        except ProfileFormatError:
            pass  # let the full loader report it (or read it as another format)
        else:
            if all_frames or not msg.drop_frames:
                return table
            st = msg.string_table
            return without_dropped_frames(table, st[msg.drop_frames], st[msg.keep_frames])
    profile = load_one(path)
    table = from_profile(profile, with_labels=with_labels)
    if all_frames:
        return table
    return without_dropped_frames(table, profile.drop_frames, profile.keep_frames)


def load_one(source: Source, fetch: Optional[Fetch] = None) -> Profile:
    """Return the profile of one input: a path in any format, a URL, ``pid:N``, a Profile."""
    if not isinstance(source, str):
        return source
    fetch = fetch or Fetch()
    from profkit.report.fetch_url import fetch_profile, is_url

    if is_url(source):
        return fetch_profile(source, seconds=fetch.seconds, timeout=fetch.timeout,
                             progress=fetch.progress)
    if source.startswith(PID_PREFIX):
        return _capture_pid(source, fetch)
    from profkit.load import load_any

    return load_any(source)


def _capture_pid(source: str, fetch: Fetch) -> Profile:
    from profkit.collect.pyspy import capture
    from profkit.errors import InputError

    raw = source[len(PID_PREFIX):]
    if not raw.isdigit() or int(raw) <= 0:
        raise InputError(f"{source}: give a process id, as pid:1234")
    return capture(int(raw), 10.0 if fetch.seconds is None else fetch.seconds)


def load_merged(sources: Sequence[Source], *, role: str = "",
                fetch: Optional[Fetch] = None) -> Profile:
    """Load ``sources`` and merge them (a single input is returned as loaded).

    Raises ProfkitError with one line: an input that cannot be loaded; the first
    input incompatible with the first (``B: incompatible sample types ... (merging
    with A)``); merged values that do not fit int64. ``role`` ("the base") is added
    to those messages.
    """
    from profkit.analysis import merge
    from profkit.analysis.merge import check_compatible
    from profkit.errors import IncompatibleProfilesError
    from profkit.model.validate import check_int64

    profiles: List[Profile] = [load_one(s, fetch) for s in sources]
    if len(profiles) == 1:
        return profiles[0]
    suffix = f", {role}" if role else ""
    first = describe(sources[0])
    for source, p in zip(sources[1:], profiles[1:]):
        try:
            check_compatible(profiles[0], p)
        except IncompatibleProfilesError as e:
            raise IncompatibleProfilesError(
                f"{describe(source)}: {e} (merging with {first}{suffix})"
            ) from None
    merged = merge(profiles)
    check_int64(merged, "merged profile")
    return merged
