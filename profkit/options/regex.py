"""pprof's regex dialect: Go's ``regexp`` (RE2 syntax), through ``google-re2``.

Every pattern a user gives profkit (focus, ignore, hide, show, show_from,
prune_from, tagshow, taghide, tag filter values, peek/list patterns) and a
profile's own ``drop_frames``/``keep_frames`` compile here, so a pattern means
what it means to ``go tool pprof``: POSIX classes (``[[:upper:]]``), ``\\Q…\\E``,
Unicode classes (``\\pL``), ``\\z``; no backreferences or lookaround. Matching is
linear in the text (RE2), so no pattern can hang the process.

``compile_pattern(option, pattern)`` returns a ``Pattern`` whose ``search(text)``
is True when the pattern matches somewhere in ``text`` (unanchored, as Go's
``MatchString``) and None otherwise; it answers from a per-pattern cache for
strings it has seen (profiles repeat file and function names), and otherwise asks
RE2 for a match without building a match object (no capture groups). A pattern that does not compile is an ``InputError`` with one
line naming the option, the pattern, RE2's reason and, when RE2 names the
offending fragment, its offset in the pattern.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Protocol, Set

from profkit.errors import InputError

__all__ = ["Pattern", "compile_pattern", "compile_optional"]


class Pattern(Protocol):
    """A compiled pattern: ``search(text)`` returns True (a match somewhere) or None."""

    def search(self, text: str) -> Any:
        """Return True if the pattern matches in ``text`` (unanchored), else None."""


_CACHE_LIMIT = 1 << 17  # distinct strings remembered per pattern


class _RE2Pattern:
    """A compiled RE2 pattern answering ``search`` as a boolean (see module doc)."""

    __slots__ = ("_cache", "_match", "_unanchored", "pattern")

    def __init__(self, pattern: str, compiled: Any, unanchored: Any) -> None:
        self.pattern = pattern
        self._match = compiled.Match
        self._unanchored = unanchored
        self._cache: Dict[str, bool] = {}

    def search(self, text: str) -> Optional[bool]:
        hit = self._cache.get(text)
        if hit is None:
            data = text.encode("utf-8", "surrogatepass")
            hit = self._match(self._unanchored, data, 0, len(data))[0] != (-1, -1)
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[text] = hit
        return True if hit else None

    def matching(self, encoded: Dict[str, bytes]) -> Set[str]:
        """Return the texts of ``encoded`` (text -> its UTF-8) the pattern matches."""
        match, anchor, miss = self._match, self._unanchored, (-1, -1)
        return {text for text, data in encoded.items() if match(anchor, data, 0, len(data))[0] != miss}


def _options() -> Any:
    import re2

    opts = re2.Options()
    opts.log_errors = False  # RE2 would otherwise log every bad pattern to stderr
    opts.never_capture = True  # matching only: no submatch bookkeeping
    return opts


_OPTIONS: Any = None


def _reason_text(raw: object) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _offset(pattern: str, reason: str) -> Optional[int]:
    """Return where the fragment RE2's reason quotes (``missing ): (a``) starts."""
    _, sep, fragment = reason.rpartition(": ")
    if not sep or not fragment:
        return None
    at = pattern.rfind(fragment)
    return at if at >= 0 else None


def compile_pattern(option: str, pattern: str) -> Pattern:
    """Compile ``pattern`` (Go/RE2 syntax) for ``option``; InputError with one line if bad."""
    global _OPTIONS
    from re2 import _re2

    if _OPTIONS is None:
        _OPTIONS = _options()
    try:
        compiled = _re2.RE2(pattern.encode("utf-8", "surrogatepass"), _OPTIONS)
    except TypeError as e:  # e.g. a pattern the binding refuses
        raise InputError(f"parsing {option} regexp {pattern!r}: {e}") from None
    if not compiled.ok():
        reason = _reason_text(compiled.error())
        where = _offset(pattern, reason)
        at = f" at offset {where}" if where is not None else ""
        raise InputError(
            f"parsing {option} regexp {pattern!r}: {reason}{at} (pprof uses Go's RE2 syntax)"
        )
    return _RE2Pattern(pattern, compiled, _re2.RE2.Anchor.UNANCHORED)


def compile_optional(option: str, pattern: str) -> Optional[Pattern]:
    """Return ``compile_pattern(option, pattern)``, or None when ``pattern`` is empty."""
    return compile_pattern(option, pattern) if pattern else None
