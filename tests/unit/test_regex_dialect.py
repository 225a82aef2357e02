"""pprof's regex dialect (Go's RE2 syntax) for every pattern option."""

from __future__ import annotations

import pytest

from profkit.analysis.filter import compile_tag_filter
from profkit.errors import InputError
from profkit.options import ViewOptions
from profkit.options.regex import compile_pattern


@pytest.mark.parametrize("pattern,text,hit", [
    ("[[:upper:]]x", "Ax", True),
    ("[[:upper:]]x", "ax", False),
    (r"\Qa.b\E", "a.b", True),
    (r"\Qa.b\E", "axb", False),
    (r"^\pL+$", "Überschrift", True),
    (r"^\pL+$", "a1", False),
    (r"main\z", "pkg.main", True),
    (r"main\z", "pkg.main\n", False),
    (r"[[:^digit:]]", "123", False),
])
def test_go_syntax_behaves_as_in_pprof(pattern: str, text: str, hit: bool) -> None:
    assert bool(compile_pattern("focus", pattern).search(text)) is hit


@pytest.mark.parametrize("pattern,reason", [
    ("(a", "missing ): (a at offset 0"),
    ("a**", "bad repetition operator: ** at offset 1"),
    ("x{1001}", "invalid repetition size"),
    ("[[:nope:]]", "invalid character class range"),
    (r"(x)\1", "invalid escape sequence"),   # no backreferences in RE2 / Go
    ("(?=x)", "invalid perl operator: (?="),  # no lookaround either
])
def test_bad_pattern_is_one_line_naming_option_pattern_and_reason(
    pattern: str, reason: str, capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InputError) as e:
        ViewOptions(show_from=pattern)
    msg = str(e.value)
    assert msg.startswith(f"parsing show_from regexp {pattern!r}: ")
    assert reason in msg and "\n" not in msg
    assert capfd.readouterr().err == ""  # RE2's own logging is off


def test_every_pattern_option_is_validated() -> None:
    for name in ("focus", "ignore", "hide", "show", "show_from", "prune_from", "tagshow",
                 "taghide"):
        with pytest.raises(InputError, match=f"parsing {name} regexp"):
            ViewOptions(**{name: "(unclosed"})


def test_tag_filter_values_use_the_same_dialect() -> None:
    m = compile_tag_filter("tagfocus", "route=[[:upper:]]")
    assert m is not None and m({"route": ["/Book"]}, {}, {}) and not m({"route": ["/b"]}, {}, {})
    with pytest.raises(InputError, match="parsing tagfocus regexp"):
        compile_tag_filter("tagfocus", "route=(")


def test_matching_is_linear_time() -> None:
    # Exponential for a backtracking engine (Python's re would not return here);
    # RE2 answers at once.
    rx = compile_pattern("focus", "(a|a)*b")
    assert rx.search("a" * 50_000) is None
