"""The register as it stood at a moment, rebuilt from the change history (ic3_asset_change):
every asset the register held then, each value as the first change after the moment found it
(its old_value), or as stored today when nothing changed it since.

What it cannot know: a value from before the asset's first sync (that sync is the baseline and
records no change), a value nothing recorded a change of, and the rows of an asset deleted
since (its history goes with it). The stamps of the sync itself (when, how often) are left out:
the history does not keep them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import sqlalchemy as sa

from ic3sync.db.read.export import RegisterColumn, register_columns, register_select
from ic3sync.db.read.rows import keyset
from ic3sync.db.schema import asset_change, asset_master
from ic3sync.mapping import COMPANIONS

# Register columns the history cannot rebuild: they stamp the syncs and imports themselves.
NOT_KNOWN_AS_OF: Final = frozenset({"last_synced_at", "sync_version", "updated_at", "recorded_at"})


def as_of_columns() -> list[RegisterColumn]:
    """The columns of the rows iter_register_as_of yields, in order."""
    return [c for c in register_columns() if c.name not in NOT_KNOWN_AS_OF]


def iter_register_as_of(
    conn: sa.Connection, moment: datetime, *, chunk: int = 2000
) -> Iterator[dict[str, Any]]:
    """Every asset added to the register before `moment` (an aware instant), with its values as
    they were at `moment`, in asset_id order, read `chunk` assets at a time. Every recorded
    change counts, whatever wrote it."""
    at = moment.astimezone(UTC)
    columns = {(c.table_name, c.name): c for c in register_columns()}
    select = register_select().where(asset_master.c.created_at < at)
    batch: list[dict[str, Any]] = []
    for row in keyset(conn, select, asset_master.c.asset_id, chunk):
        batch.append(dict(row))
        if len(batch) == chunk:
            yield from _rebuilt(conn, batch, at, columns)
            batch = []
    if batch:
        yield from _rebuilt(conn, batch, at, columns)


def _rebuilt(
    conn: sa.Connection,
    batch: Sequence[dict[str, Any]],
    at: datetime,
    columns: dict[tuple[str, str], RegisterColumn],
) -> Sequence[dict[str, Any]]:
    c = asset_change.c
    # The first change after the moment of each of these assets' values: its old_value is the
    # value at the moment.
    first = (
        sa.select(sa.func.min(c.change_id))
        .where(
            c.asset_id.between(batch[0]["asset_id"], batch[-1]["asset_id"]),
            c.changed_at >= at,
        )
        .group_by(c.asset_id, c.table_name, c.column_name)
    )
    found = conn.execute(
        sa.select(c.asset_id, c.table_name, c.column_name, c.old_value).where(
            c.change_id.in_(first)
        )
    )
    by_asset: dict[int, list[tuple[str, str, str | None]]] = {}
    for asset_id, table_name, column_name, old in found:
        by_asset.setdefault(asset_id, []).append((table_name, column_name, old))
    for row in batch:
        for table_name, column_name, old in by_asset.get(row["asset_id"], ()):
            column = columns.get((table_name, column_name))
            if column is None:  # a value the register's rows do not show
                continue
            row[column.name] = typed(old, column.type)
            if column.name in COMPANIONS:
                companion, parse = COMPANIONS[column.name]
                row[companion] = _parsed(parse, old)
    return batch


def typed(text: str | None, type_: sa.types.TypeEngine[Any]) -> Any:
    """A value of the history's text form (db/changes.stored_text) as its column holds it; the
    text itself when it does not read as one."""
    if text is None:
        return None
    try:
        if isinstance(type_, sa.Integer):
            return int(text)
        if isinstance(type_, sa.Numeric):
            return Decimal(text)
        if isinstance(type_, sa.DateTime):
            return datetime.fromisoformat(text)
        if isinstance(type_, sa.Date):
            return date.fromisoformat(text)
    except (ValueError, InvalidOperation):
        return text
    return text


def _parsed(parse: Any, text: str | None) -> Any:
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError:  # the sync stored NULL for it too
        return None
