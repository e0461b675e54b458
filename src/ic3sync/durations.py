"""Durations as people read them, one formatter for the terminal summary and the dashboard."""

from __future__ import annotations

from typing import Literal


def duration(value: float | None, *, unit: Literal["ms", "s"] = "ms", exact: bool = False) -> str:
    """A duration in words; an em dash when unknown.

    By default the two largest units, as for a run: '14 min 48 s', '2 h 5 min', '3 d 4 h',
    tenths under ten seconds ('4.2 s') and milliseconds under one ('43 ms'). `exact=True` is
    for a stored duration such as MTTR: every unit down to the second, hours not folded into
    days, as the vendor's own "8526:06:43" does not: '8,526 h 6 min 43 s'.
    """
    if value is None:
        return "—"
    seconds = value / 1000.0 if unit == "ms" else float(value)
    if exact:
        hours, rest = divmod(round(seconds), 3600)
        minutes, secs = divmod(rest, 60)
        parts = [f"{hours:,} h"] if hours else []
        if minutes or hours:
            parts.append(f"{minutes} min")
        parts.append(f"{secs} s")
        return " ".join(parts)
    if seconds < 1:
        # One asset's sync: "0 s" would hide it and "0.1 s" round it up.
        return f"{round(seconds * 1000):,} ms"
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
