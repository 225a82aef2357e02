"""Load a file as a StackTable, straight from the protobuf message when it is pprof.

That skips building a Python object per sample/location (the fast path of
``profkit top``); other formats go through ``profkit.load.load_any``.
"""

from __future__ import annotations

import os

from profkit.analysis.stacks import StackTable, from_message, from_profile
from profkit.model.codec import decode, read_bytes
from profkit.model.errors import ProfileFormatError


def load_table(path: str, *, with_labels: bool) -> StackTable:
    """Return the StackTable of the profile at ``path`` (ProfkitError with one line)."""
    data = read_bytes(path)
    try:
        msg = decode(data)
    except ProfileFormatError as e:
        gzip_broken = "gzip" in str(e) or "inflates" in str(e)
        if gzip_broken:  # no other loader can do better with a broken/bomb stream
            raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
        msg = None
    if msg is None or not msg.sample_type:
        from profkit.load import load_any

        return from_profile(load_any(path), with_labels=with_labels)
    try:
        return from_message(msg, with_labels=with_labels)
    except ProfileFormatError as e:
        raise ProfileFormatError(f"{os.fspath(path)}: {e}") from None
