"""Fuzz target over the decoders: codec.parse, codec.decode + from_message, and the
pre-decode walk (wirescan) forced on. Structured profiles, then mutated bytes.

Properties: the walked path and the plain path give the same profile up to merged
identical runs (same sums per stack and labels); hostile bytes only ever raise a
one-line ProfileFormatError. Budget: a few hundred examples, a few seconds.
"""

from __future__ import annotations

import gzip
import tempfile
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profkit.analysis.stacks import from_message
from profkit.load import load_any
from profkit.model import codec, wirescan
from profkit.model._schema import ProfileMessage
from profkit.model.errors import ProfileFormatError
from profkit.model.profile import Profile

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

Spec = Tuple[Tuple[int, ...], Tuple[int, int], Optional[int]]
sample = st.tuples(
    st.lists(st.integers(1, 4), min_size=0, max_size=4).map(tuple),
    st.tuples(st.integers(-(2**40), 2**40), st.integers(0, 2**20)),
    st.one_of(st.none(), st.integers(1, 2)),
)
# runs: (sample, copies) so that identical consecutive samples are common
runs = st.lists(st.tuples(sample, st.integers(1, 40)), min_size=1, max_size=12)


def _message(spec: List[Tuple[Spec, int]]) -> bytes:
    m = ProfileMessage()
    m.string_table.extend(["", "samples", "count", "cpu", "nanoseconds", "f1", "f2", "f3",
                           "f4", "thread", "a", "b"])
    m.sample_type.add(type=1, unit=2)
    m.sample_type.add(type=3, unit=4)
    for i in range(1, 5):
        m.function.add(id=i, name=4 + i)
        m.location.add(id=i, line=[{"function_id": i, "line": i}])
    for (stack, values, label), copies in spec:
        for _ in range(copies):
            labels = [{"key": 9, "str": 9 + label}] if label else []
            m.sample.add(location_id=list(stack), value=list(values), label=labels)
    return bytes(m.SerializeToString())


def _sums(p: Profile) -> Dict[Tuple[Tuple[int, ...], str], List[int]]:
    out: Dict[Tuple[Tuple[int, ...], str], List[int]] = {}
    for s in p.samples:
        key = (tuple(loc.id for loc in s.locations), repr(sorted(s.labels.items())))
        acc = out.setdefault(key, [0] * len(s.values))
        for i, v in enumerate(s.values):
            acc[i] += v
    return out


def _walked(data: bytes) -> Profile:
    with mock.patch.object(wirescan, "SCAN_THRESHOLD", 0):
        return codec.parse(data)


@FUZZ
@given(runs)
def test_walked_decode_equals_plain_decode(spec: List[Tuple[Spec, int]]) -> None:
    data = gzip.compress(_message(spec))
    plain, walked = codec.parse(data), _walked(data)
    assert _sums(walked) == _sums(plain)
    assert walked.total(0) == plain.total(0) and walked.total(1) == plain.total(1)
    # every run of identical consecutive samples became one sample, nothing else merged
    expanded = [smp for smp, copies in spec for _ in range(copies)]
    groups = 1 + sum(1 for a, b in zip(expanded, expanded[1:]) if a != b)
    assert len(walked.samples) == groups
    assert len(plain.samples) == len(expanded)


def _one_line_or_ok(fn: object, data: bytes) -> None:
    try:
        fn(data)  # type: ignore[operator]
    except ProfileFormatError as e:
        assert "\n" not in str(e) and str(e)


mutation = st.tuples(st.integers(0, 10**6), st.integers(0, 255), st.sampled_from(
    ["flip", "insert", "delete", "truncate"]))


@FUZZ
@given(runs, st.lists(mutation, min_size=1, max_size=6))
def test_mutated_profiles_fail_in_one_line(spec: List[Tuple[Spec, int]],
                                           muts: List[Tuple[int, int, str]]) -> None:
    data = bytearray(_message(spec))
    for at, byte, how in muts:
        i = at % (len(data) + 1)
        if how == "flip" and i < len(data):
            data[i] = byte
        elif how == "insert":
            data[i:i] = bytes([byte])
        elif how == "delete":
            del data[i:i + 1]
        else:
            del data[i:]
    raw = bytes(data)
    _one_line_or_ok(codec.parse, raw)
    _one_line_or_ok(_walked, raw)
    _one_line_or_ok(lambda d: from_message(codec.decode(d)), raw)
    with mock.patch.object(wirescan, "SCAN_THRESHOLD", 0):
        _one_line_or_ok(lambda d: from_message(codec.decode(d)), raw)


@settings(FUZZ, max_examples=60)
@given(runs, st.lists(mutation, min_size=1, max_size=4))
def test_mutated_profiles_through_the_importers(spec: List[Tuple[Spec, int]],
                                                muts: List[Tuple[int, int, str]]) -> None:
    data = bytearray(gzip.compress(_message(spec)) if muts[0][2] == "flip" else _message(spec))
    for at, byte, _ in muts:
        data[at % len(data)] = byte
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "input"
        path.write_bytes(bytes(data))
        for force in (False, True):
            with mock.patch.object(wirescan, "SCAN_THRESHOLD", 0 if force else 16 << 20):
                _one_line_or_ok(lambda _: load_any(path), b"")


@FUZZ
@given(st.binary(min_size=1, max_size=400))
def test_random_bytes_through_the_walk(raw: bytes) -> None:
    _one_line_or_ok(_walked, raw)
    _one_line_or_ok(lambda d: from_message(codec.decode(d)), raw)


def test_overflowing_run_sum_is_one_line() -> None:
    big = (2**62, 1)
    data = _message([(((1,), big, None), 4)])
    with mock.patch.object(wirescan, "SCAN_THRESHOLD", 0):
        try:
            codec.parse(data)
        except ProfileFormatError as e:
            assert "4 identical samples sum to a value that does not fit in 64 bits" in str(e)
        else:
            raise AssertionError("accepted an int64 overflow")
    assert Counter(s.values[0] for s in codec.parse(data).samples) == {2**62: 4}
