"""Vendor text made safe once, at the edge, before anything stores, logs, shows or sends it
(contract rule 13). Every string of an answer, keys included, goes through one SafeText:

- a lone surrogate (a PHP vendor's json_encode of broken UTF-16) or a NUL becomes U+FFFD, and
  the leaf is named in the asset's log row: the asset still syncs, nothing vanishes silently, and
  PostgreSQL and SQLite store the same text;
- every other control character (tab, CR, LF, ESC, BEL, DEL, C1) becomes a space: the fields
  are one-line names and codes, and a CR/LF kept would forge log lines and notices;
- a string longer than INNOMAINT_MAX_FIELD_CHARS is cut there, and the cut named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ic3sync.controls import CONTROL

REPLACEMENT = "\ufffd"
DEFAULT_MAX_FIELD_CHARS = 2000
# The leaves named per kind of change; the rest are counted. A note must stay a line.
_NAMED = 5
_NAME_CHARS = 80
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_INVALID = re.compile("[\x00\ud800-\udfff]")


def needs_care(text: str, max_chars: int) -> bool:
    return len(text) > max_chars or _UNSAFE.search(text) is not None


@dataclass(slots=True)
class SafeText:
    """Makes the strings of one answer safe and remembers which leaves it had to change."""

    max_chars: int = DEFAULT_MAX_FIELD_CHARS
    replaced: list[str] = field(default_factory=list)
    nul: list[str] = field(default_factory=list)
    cut: list[tuple[str, int]] = field(default_factory=list)

    def __call__(self, text: str, where: str) -> str:
        if not needs_care(text, self.max_chars):
            return text
        if _INVALID.search(text) is not None:
            if "\x00" in text:
                self.nul.append(where)
                text = text.replace("\x00", REPLACEMENT)
            if _INVALID.search(text) is not None:
                self.replaced.append(where)
                text = _INVALID.sub(REPLACEMENT, text)
        text = CONTROL.sub(" ", text)
        if len(text) > self.max_chars:
            self.cut.append((where, len(text)))
            text = text[: self.max_chars]
        return text

    def notes(self) -> tuple[str, ...]:
        """One line per kind of change, naming the leaves, for the asset's log row."""
        notes = []
        if self.replaced:
            notes.append("invalid Unicode replaced with U+FFFD in " + _names(self.replaced))
        if self.nul:
            notes.append("NUL replaced with U+FFFD in " + _names(self.nul))
        if self.cut:
            cuts = [f"{where} ({n:,} characters)" for where, n in self.cut]
            notes.append(f"cut to {self.max_chars:,} characters: " + _names(cuts))
        return tuple(notes)


def _names(names: list[str]) -> str:
    shown = ", ".join(name[:_NAME_CHARS] for name in names[:_NAMED])
    more = len(names) - _NAMED
    return f"{shown} and {more} more" if more > 0 else shown
