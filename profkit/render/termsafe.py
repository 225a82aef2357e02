"""``term_safe(text)``: make a name from a profile safe to print on a terminal.

Profiles are untrusted input: a function name can carry an escape sequence that
sets the window title or clears the screen, a carriage return that overwrites the
line, or a newline that forges a table row. Every text report (and every error
line that quotes a name) passes such strings through ``term_safe`` before printing.
JSON, pprof and other machine outputs keep names exactly as they are.

Contract:

* Printable text is returned unchanged (the same object), so ordinary names print
  byte-for-byte as ``go tool pprof`` prints them; backslashes are left alone.
* C0 controls (U+0000-U+001F), DEL (U+007F) and C1 controls (U+0080-U+009F) are
  replaced by Python-style escapes: ``\\n``, ``\\r``, ``\\t``, ``\\x1b``, ``\\x9b``.
* The Unicode line/paragraph separators (U+2028, U+2029) and the bidirectional
  controls (U+200E, U+200F, U+061C, U+202A-U+202E, U+2066-U+2069), which reorder
  what a reader sees, become ``\\u2028``-style escapes.
* The result contains none of the characters above, so it is one line.
"""

from __future__ import annotations

import re

__all__ = ["term_safe"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def term_safe(text: str) -> str:
    """Return ``text`` with terminal control characters escaped (see the module doc)."""
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_escape, text)
