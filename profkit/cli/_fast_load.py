"""Load a file as a StackTable, straight from the protobuf message when it is pprof.

That skips building a Python object per sample/location (the fast path of
``profkit top``). Anything the fast path does not accept outright (other formats,
malformed messages) goes through ``profkit.load.load_any``, which owns the error
messages; only a broken or bomb-sized gzip stream is reported here directly.
"""

from __future__ import annotations

import os

from profkit.analysis.stacks import StackTable, from_message, from_profile
from profkit.model.codec import decode, read_bytes
from profkit.model.errors import ProfileFormatError


def load_table(path: str, *, with_labels: bool) -> StackTable:
    """Return the StackTable of the profile at ``path`` (ProfkitError with one line)."""
    data = read_bytes(path)
    msg = None
    try:
        msg = decode(data)
    except ProfileFormatError as e:
        if "gzip" in str(e) or "inflates" in str(e):
            raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
    if msg is not None and msg.sample_type and msg.string_table:
        try:
            return from_message(msg, with_labels=with_labels)
        except ProfileFormatError:
            pass  # let the full loader report it (or read it as another format)
    from profkit.load import load_any

    return from_profile(load_any(path), with_labels=with_labels)
