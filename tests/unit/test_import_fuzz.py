"""Hostile or random input never escapes as anything but a one-line ProfileFormatError."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profkit.load import load_any
from profkit.model import ProfileFormatError, check_valid, serialize

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _check(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "input"
        path.write_bytes(data)
        try:
            p = load_any(path)
        except ProfileFormatError as e:
            assert "\n" not in str(e)
            return
        check_valid(p)
        serialize(p)  # and it must encode (int64 range, no NaN)


@FUZZ
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    _check(data)


frame = st.text(alphabet=st.characters(blacklist_characters="\n\r;"), max_size=12)
line = st.tuples(st.lists(frame, max_size=4), st.integers(-(2**70), 2**70)).map(
    lambda t: ";".join(t[0]) + f" {t[1]}"
)


@FUZZ
@given(st.lists(line, min_size=1, max_size=8))
def test_random_collapsed(lines: list) -> None:
    _check("\n".join(lines).encode("utf-8", "surrogatepass"))


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(-(2**70), 2**70) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
frames = st.lists(st.fixed_dictionaries({"name": st.text(max_size=6)}), max_size=3)
sampled = st.fixed_dictionaries({
    "type": st.sampled_from(["sampled", "evented", "other"]),
    "name": st.text(max_size=5),
    "unit": st.sampled_from(["none", "seconds", "bytes", "parsecs"]),
    "startValue": json_values, "endValue": json_values,
    "samples": st.lists(st.lists(st.integers(-2, 4), max_size=4), max_size=4),
    "weights": st.lists(st.floats() | st.integers(-(2**70), 2**70), max_size=4),
    "events": st.lists(st.fixed_dictionaries({
        "type": st.sampled_from(["O", "C", "X"]), "frame": st.integers(-1, 3),
        "at": st.floats() | st.integers(-5, 5)}), max_size=5),
})


@FUZZ
@given(frames, st.lists(sampled, max_size=3))
def test_random_speedscope(frame_list: list, profiles: list) -> None:
    doc = {"$schema": "https://www.speedscope.app/file-format-schema.json",
           "shared": {"frames": frame_list}, "profiles": profiles}
    _check(json.dumps(doc).encode())
