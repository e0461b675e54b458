"""How a count reads in a sentence a person reads: "1 asset", "2 assets", "1 day"."""

from __future__ import annotations


def counted(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else plural or noun + 's'}"
