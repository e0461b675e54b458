"""Durations as people read them, for the terminal summary and the dashboard alike."""

from __future__ import annotations


def duration(ms: float | None) -> str:
    """'14 min 48 s', '2 h 5 min', '4.2 s'; an em dash when unknown."""
    if ms is None:
        return "—"
    seconds = ms / 1000.0
    if seconds < 10:
        # Short runs of a handful of assets: a tenth of a second still tells them apart.
        text = f"{seconds:.1f}".rstrip("0").rstrip(".")
        return f"{text} s"
    total = round(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _join((days, "d"), (hours, "h"))
    if hours:
        return _join((hours, "h"), (minutes, "min"))
    if minutes:
        return _join((minutes, "min"), (secs, "s"))
    return f"{secs} s"


def _join(big: tuple[int, str], small: tuple[int, str]) -> str:
    return f"{big[0]} {big[1]}" + (f" {small[0]} {small[1]}" if small[0] else "")
