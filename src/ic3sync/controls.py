"""Control characters in text ic3sync did not write (a vendor's values, a register's cells):
replaced by a space where the text is kept, shown escaped where it is printed, so a CR/LF never
forges a log line and an ESC never drives the operator's terminal (contract rule 13)."""

from __future__ import annotations

import re

# C0 (NUL to US), DEL and C1: what a terminal or a line-based log acts on rather than shows.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
# The same, and the lone surrogates a str may hold but no UTF-8 text can: printing one fails.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def spaced(text: str) -> str:
    """`text` with every control character (tab, CR and LF included) replaced by a space."""
    return CONTROL.sub(" ", text)


def one_line(text: str) -> str:
    """`text` on one line, runs of whitespace and control characters as one space."""
    return " ".join(spaced(text).split())


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """`text` as it may be printed: every control character and lone surrogate written as a
    visible escape (ESC as `\\x1b`, LF as `\\x0a`), never sent raw."""
    return _UNPRINTABLE.sub(_escape, text)
