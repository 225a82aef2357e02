"""Walk a ``profile.proto`` message's wire format before decoding it.

``prepare(raw, limits)`` is what keeps decoding bounded: the protobuf runtime spends
20-35 bytes per wire byte on dense input (a 2-byte empty sample or label becomes a
message object), so a hostile message must be refused before ``ParseFromString``.

Contract:

* A message of at most ``min(SCAN_THRESHOLD, limits.frames)`` bytes is returned
  as is: it cannot hold more frames than bytes, and its decoded size is bounded
  (~35x of 16 MiB); the caller checks its top-level counts after decoding
  (``Limits.check_message``).
* A larger one is walked once at the top level, stopping with ``LimitError`` as
  soon as a count passes its limit, so the time and memory spent are bounded by
  the limits, not by the input. The entries inside samples and locations
  ("frames") are bounded at C speed by counting the bytes that end a varint
  (at most one per location reference, value, label or line; a label counts a few).
* A run of byte-identical consecutive samples (a 25 M-sample profile is typically
  one sample repeated) is skipped at memcmp speed and decoded as ONE sample whose
  values are the run's sums (what every report computes anyway); only ``info``'s
  sample count shows the difference. Sums that do not fit int64 are a one-line
  ProfileFormatError.
* Truncated input is left to the decoder, which names it; a wire type protobuf
  does not allow here (groups) is a one-line ProfileFormatError.
"""

from __future__ import annotations

from typing import List, Optional, Tuple, Union

from profkit.model.errors import ProfileFormatError
from profkit.model.limits import LimitError, Limits
from profkit.model.validate import INT64_MAX, INT64_MIN

__all__ = ["SCAN_THRESHOLD", "prepare"]

#: Messages larger than this (bytes) are walked before decoding.
SCAN_THRESHOLD = 16 << 20
Buf = Union[bytes, bytearray]
_LOW = bytes(range(0x80))  # translate(None, _LOW) keeps only varint continuation bytes
_RUN_BLOCK = 1 << 16
_MAX_RUN_FIELD = 4096
_SAMPLE_TAG = 0x12  # field 2 (sample), wire type LEN
_PIECE = 16 << 20
#: one-byte tags of the repeated LEN fields -> what their entries are
_KINDS = {0x0A: "strings", 0x12: "samples", 0x1A: "mappings", 0x22: "locations",
          0x2A: "functions", 0x32: "strings"}
_PACKED_COMMENTS = 0x6A  # field 13 packed: each varint is one entry
#: kind -> the limit it counts against
_LIMIT_OF = {"strings": "strings", "samples": "samples", "mappings": "locations",
             "locations": "locations", "functions": "functions"}
_FRAME_TAGS = (0x12, 0x22)  # samples and locations hold the frames
#: (start, end of the first copy, end of the run, number of copies)
Run = Tuple[int, int, int, int]


class _Truncated(Exception):
    pass


def _varint(buf: Buf, pos: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise _Truncated
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, pos


def _skip(buf: Buf, pos: int, wt: int, start: int) -> int:
    """Return the position after a non-LEN field's value (wire type ``wt``)."""
    if wt == 0:
        return _varint(buf, pos)[1]
    if wt == 1:
        return pos + 8
    if wt == 5:
        return pos + 4
    raise ProfileFormatError(
        f"not a valid profile.proto message (wire type {wt} at byte {start})"
    )


def _low(buf: Buf, a: int, b: int) -> int:
    """Return how many bytes of ``buf[a:b]`` are below 0x80 (each ends a varint), at C speed."""
    count = 0
    for lo in range(a, b, _PIECE):
        seg = buf[lo:min(b, lo + _PIECE)]
        count += len(seg) - len(seg.translate(None, _LOW))
    return count


def _run_end(buf: Buf, start: int, end: int) -> Tuple[int, int]:
    """Return (end, copies) of the run of copies of ``buf[start:end]`` starting there."""
    field = bytes(buf[start:end])
    flen = len(field)
    block = field * max(1, _RUN_BLOCK // flen)
    per_block = len(block) // flen
    pos, copies = end, 1
    while buf.startswith(block, pos):
        pos += len(block)
        copies += per_block
    while buf.startswith(field, pos):
        pos += flen
        copies += 1
    return pos, copies


def _block(buf: Buf, pos: int, tag: int, budget: int, limit: str, limit_value: int,
           runs: Optional[List[Run]]) -> Tuple[int, int, int]:
    """Walk the consecutive LEN fields with one-byte ``tag`` starting at ``pos``.

    Return (end, fields walked, varint-ending bytes in the skipped run copies).
    Raises LimitError(``limit``) once more than ``budget`` fields are walked; with
    ``runs``, runs of identical fields are skipped and recorded there.
    """
    n = len(buf)
    walked = dup_low = 0
    while pos < n and buf[pos] == tag:
        start = pos
        ln = buf[pos + 1]
        if ln < 0x80:
            pos += 2
        else:
            ln, pos = _varint(buf, pos + 1)
        end = pos + ln
        if end > n:
            raise _Truncated
        walked += 1
        if walked > budget:
            raise LimitError(limit, limit_value)
        flen = end - start
        if (runs is not None and flen <= _MAX_RUN_FIELD and end + flen <= n
                and buf[end] == tag and buf[end + 1] == buf[start + 1]
                and buf.startswith(bytes(buf[start:end]), end)):
            run_end, copies = _run_end(buf, start, end)
            runs.append((start, end, run_end, copies))
            dup_low += (copies - 1) * _low(buf, start, end)
            end = run_end
        pos = end
    return pos, walked, dup_low


def _scan(buf: Buf, lim: Limits) -> List[Run]:
    """Walk the top level, enforcing ``lim``; return the runs of identical samples.

    Fields of one kind are contiguous in practice (all samples, then locations...),
    so each block of them is walked by ``_block``'s tight loop and its frames are
    counted in one C-speed pass.
    """
    n = len(buf)
    counts = dict.fromkeys(_KINDS.values(), 0)
    pos = frames = 0
    runs: List[Run] = []
    try:
        while pos < n:
            tag = buf[pos]
            kind = _KINDS.get(tag)
            if kind is None:  # a scalar, a multi-byte tag, or another LEN field
                start = pos
                tag, pos = _varint(buf, pos)
                entries = 1
                if tag & 7 == 2:
                    ln, pos = _varint(buf, pos)
                    if tag == _PACKED_COMMENTS:
                        entries = _low(buf, pos, min(n, pos + ln))
                    pos += ln
                    if pos > n:
                        break
                else:
                    pos = _skip(buf, pos, tag & 7, start)
                counts["strings"] += entries
                lim.check("strings", counts["strings"])
                continue
            limit = _LIMIT_OF[kind]
            start = pos
            value = getattr(lim, limit)
            pos, walked, dup_low = _block(
                buf, pos, tag, value - counts[kind], limit, value,
                runs if tag == _SAMPLE_TAG else None,
            )
            counts[kind] += walked
            if tag in _FRAME_TAGS:  # each field's tag and length end in one low byte each
                frames += _low(buf, start, pos) - 2 * walked - dup_low
                lim.check("frames", frames)
    except (_Truncated, IndexError):
        pass  # the decoder reports the truncation
    return runs


def _summed(field: Union[Buf, memoryview], copies: int) -> bytes:
    """Return one sample field (tag, length, Sample) with its values times ``copies``."""
    from google.protobuf.message import DecodeError

    from profkit.model._schema import ProfileMessage

    msg = ProfileMessage()
    try:
        msg.ParseFromString(bytes(field))
    except (DecodeError, RuntimeError, ValueError) as e:
        raise ProfileFormatError(f"not a valid profile.proto message ({e})") from None
    smp = msg.sample[0]
    values = [v * copies for v in smp.value]
    if any(not INT64_MIN <= v <= INT64_MAX for v in values):
        raise ProfileFormatError(
            f"malformed profile: {copies} identical samples sum to a value that does not "
            "fit in 64 bits (int64 overflow)"
        )
    del smp.value[:]
    smp.value.extend(values)
    return bytes(msg.SerializeToString())


def prepare(raw: Buf, lim: Limits) -> Buf:
    """Return ``raw`` checked against ``lim``, runs of identical samples merged (see module doc)."""
    if len(raw) <= min(SCAN_THRESHOLD, lim.frames):
        return raw
    runs = _scan(raw, lim)
    if not runs:
        return raw
    view = memoryview(raw)
    out = bytearray()
    prev = 0
    for start, first_end, run_end, copies in runs:
        out += view[prev:start]
        out += _summed(view[start:first_end], copies)
        prev = run_end
    out += view[prev:]
    view.release()
    return out
