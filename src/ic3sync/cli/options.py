"""Checks shared by the commands' options."""

from __future__ import annotations

import typer

from ic3sync.model import INT64_MAX, INT64_MIN


def fits_int64(value: int | None) -> int | None:
    """A number the database's bigint columns hold. A callback rather than typer's max=, which
    would print the 19-digit bounds in every --help."""
    if value is not None and not INT64_MIN <= value <= INT64_MAX:
        raise typer.BadParameter(f"{value} is beyond what the database can hold")
    return value
