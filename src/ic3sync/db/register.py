"""The asset register's upsert: new ids inserted, known ids updated where the sheet has a value,
all in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.schema import asset_master

# Rows per statement: a register of thousands of rows goes in a few executemany calls.
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int


def _chunks(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _update_statement(columns: Sequence[str]) -> sa.Update:
    # COALESCE keeps the stored value where the sheet is empty: the sync may have filled it.
    table = asset_master
    return (
        sa.update(table)
        .where(table.c.asset_id == sa.bindparam("b_asset_id"))
        .values(
            {
                table.c[name]: sa.func.coalesce(
                    sa.bindparam(f"b_{name}", type_=table.c[name].type), table.c[name]
                )
                for name in columns
            }
            | {table.c.updated_at: sa.bindparam("b_updated_at")}
        )
    )


def upsert_register(
    conn: sa.Connection,
    rows: Sequence[tuple[str, Mapping[str, Any]]],
    columns: Sequence[str],
    now: datetime,
) -> UpsertCounts:
    """Upsert (cmms_asset_id, {column: value}) rows into ic3_asset_master on cmms_asset_id.

    A value replaces the stored one; None leaves it alone. A row whose values all match the
    stored ones is left untouched and counted unchanged.
    """
    table = asset_master
    stored = {
        r.cmms_asset_id: r
        for r in conn.execute(
            sa.select(table.c.asset_id, table.c.cmms_asset_id, *table.c[tuple(columns)])
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    for cmms_asset_id, values in rows:
        old = stored.get(cmms_asset_id)
        if old is None:
            inserts.append(
                {"cmms_asset_id": cmms_asset_id, **values, "created_at": now, "updated_at": now}
            )
        elif any(v is not None and v != getattr(old, k) for k, v in values.items()):
            updates.append(
                {"b_asset_id": old.asset_id, "b_updated_at": now}
                | {f"b_{k}": v for k, v in values.items()}
            )
        else:
            unchanged += 1
    for chunk in _chunks(inserts):
        conn.execute(table.insert(), chunk)
    if updates:
        statement = _update_statement(columns)
        for chunk in _chunks(updates):
            conn.execute(statement, chunk)
    return UpsertCounts(len(inserts), len(updates), unchanged)
