"""``stacks.from_message`` (the ``profkit top`` fast path) rejects what ``codec.parse`` rejects.

Every string index a message holds must be in range, whether ``top`` reads it or
not: pprof and ``profkit info`` refuse such files, so ``top`` must too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from profkit.analysis.stacks import from_message
from profkit.cli import main
from profkit.model import ProfileFormatError, parse
from profkit.model._schema import ProfileMessage

BAD = 99  # the string table below has 6 entries

CASES = [
    "label_key", "label_str", "label_num_unit", "label_key_negative", "period_type",
    "period_unit", "drop_frames", "keep_frames", "doc_url", "comment", "default_sample_type",
]


def message(case: str) -> Any:
    """Return a valid one-sample message with one string index out of range, per ``case``."""
    msg = ProfileMessage()
    msg.string_table.extend(["", "samples", "count", "m.f", "thread", "t1"])
    msg.sample_type.add(type=1, unit=2)
    msg.period_type.type, msg.period_type.unit = 1, 2
    msg.function.add(id=1, name=3)
    msg.location.add(id=1, line=[{"function_id": 1}])
    msg.sample.add(location_id=[1], value=[5], label=[{"key": 4, "str": 5}])
    smp = msg.sample.add(location_id=[1], value=[1])
    if case == "label_key":
        smp.label.add(key=BAD, str=5)
    elif case == "label_key_negative":
        smp.label.add(key=-1, str=5)
    elif case == "label_str":
        smp.label.add(key=4, str=BAD)
    elif case == "label_num_unit":
        smp.label.add(key=4, num=3, num_unit=BAD)
    elif case == "period_type":
        msg.period_type.type = BAD
    elif case == "period_unit":
        msg.period_type.unit = BAD
    elif case == "comment":
        msg.comment.append(BAD)
    elif case != "valid":
        setattr(msg, case, BAD)
    return msg


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("with_labels", [False, True])
def test_from_message_rejects_out_of_range_string_index(case: str, with_labels: bool) -> None:
    bad = -1 if case.endswith("negative") else BAD
    with pytest.raises(ProfileFormatError, match=f"string index {bad} out of range"):
        from_message(message(case), with_labels=with_labels)
    with pytest.raises(ProfileFormatError, match=f"string index {bad} out of range"):
        parse(message(case).SerializeToString())  # the full decoder agrees


def test_valid_message_is_accepted_with_and_without_labels() -> None:
    assert from_message(message("valid")).values == [[5], [1]]
    t = from_message(message("valid"), with_labels=True)
    assert t.labels == [{"thread": ["t1"]}, {}]


def test_unit_of_a_string_label_is_not_read() -> None:
    """As in pprof (and codec.parse): ``num_unit`` matters only when ``str`` is unset."""
    msg = message("valid")
    msg.sample[1].label.add(key=4, str=5, num_unit=BAD)
    assert from_message(msg).values == [[5], [1]]
    assert parse(msg.SerializeToString()).total(0) == 6


@pytest.mark.parametrize("case", ["label_key", "label_num_unit", "period_type", "doc_url"])
@pytest.mark.parametrize("command", ["top", "info"])
def test_cli_rejects_out_of_range_string_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, command: str
) -> None:
    path = tmp_path / f"{case}.pb"
    path.write_bytes(message(case).SerializeToString())
    assert main([command, str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert f"{case}.pb: malformed profile: string index {BAD} out of range" in captured.err
