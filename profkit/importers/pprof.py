"""pprof's ``profile.proto``, gzip'd or not: the native format, handled by the codec."""

from __future__ import annotations

from profkit.model.codec import PathLike
from profkit.model.codec import load as load_pprof
from profkit.model.profile import Profile

_GZIP = b"\x1f\x8b"
# Tags of Profile fields 1-14 with their wire types (LEN for messages/repeated, VARINT else).
_FIRST_TAGS = frozenset({0x0A, 0x12, 0x1A, 0x22, 0x2A, 0x32, 0x38, 0x40, 0x48, 0x50, 0x5A, 0x60,
                         0x68, 0x70, 0x6A})


def sniff(head: bytes, path: str) -> bool:
    """Return True if ``head`` looks like (gunzipped) profile.proto bytes.

    Protobuf starts with a field tag and, unlike the text formats, always contains
    control bytes (small lengths and varints) early on.
    """
    del path
    if head.startswith(_GZIP):  # could not be inflated: let the codec say why
        return True
    if not head or head[0] not in _FIRST_TAGS:
        return False
    return any(b < 0x09 for b in head[:256])


def load(path: PathLike) -> Profile:
    """Read a pprof file (gzip'd or plain); errors are one-line ProfileFormatErrors."""
    return load_pprof(path)
