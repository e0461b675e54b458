"""What every read model shares: rows as plain dicts with their times as UTC instants, and
reading a long result a chunk at a time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa


def utc(value: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def as_read(row: sa.RowMapping) -> dict[str, Any]:
    """A row as a dict, its times as UTC instants on every database."""
    return {key: utc(value) if isinstance(value, datetime) else value for key, value in row.items()}


def keyset(
    conn: sa.Connection, select: sa.Select[Any], key: sa.Column[Any], chunk: int
) -> Iterator[sa.RowMapping]:
    """The rows of `select` in `key` order, fetched `chunk` at a time: each fetch starts after
    the last key seen, so neither side holds more than a chunk however many rows there are."""
    after = None
    while True:
        page = select if after is None else select.where(key > after)
        rows = conn.execute(page.order_by(key).limit(chunk)).mappings().all()
        yield from rows
        if len(rows) < chunk:
            return
        after = rows[-1][key.name]
