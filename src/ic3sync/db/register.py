"""The asset register's upsert: new ids inserted, known ids updated where the sheet has a value,
all in the caller's transaction. Once an asset has synced, the columns Innomaint sends are its
own: the sheet's values for them are kept out unless the sheet is told to win. Every stored value
an import changes is recorded in the change history as a `register` change."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.changes import stored_text
from ic3sync.db.schema import asset_change, asset_master

# Rows per statement: a register of thousands of rows goes in a few executemany calls.
_CHUNK = 5_000


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    inserted: int
    updated: int
    unchanged: int
    # Values of synced assets the sheet has otherwise, left as Innomaint sent them.
    kept: int = 0
    # Values of synced assets Innomaint sent that the sheet's replaced (the sheet told to win).
    taken: int = 0
    # Stored values the import changed, recorded as `register` changes.
    changed: int = 0


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
    *,
    cmms_owned: Collection[str] = (),
    sheet_wins: bool = False,
) -> UpsertCounts:
    """Upsert (cmms_asset_id, {column: value}) rows into ic3_asset_master on cmms_asset_id.

    A value replaces the stored one; None leaves it alone. For an asset that has synced, a value
    of a `cmms_owned` column that differs from a stored one is kept out and counted (unless
    `sheet_wins`); an empty stored value is filled. A row whose values all match the stored
    ones, or differ only where they are kept out, is left untouched and counted unchanged. The
    values changed are recorded as `register` changes in the history.
    """
    table = asset_master
    stored = {
        r.cmms_asset_id: r
        for r in conn.execute(
            sa.select(
                table.c.asset_id,
                table.c.cmms_asset_id,
                table.c.last_synced_at,
                *table.c[tuple(columns)],
            )
            # Held to the commit: a sync that commits meanwhile (its first, say) cannot slip
            # between what decides ownership here and the writes.
            .with_for_update()
        )
    }
    owned = frozenset(cmms_owned)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    unchanged = kept = taken = 0
    for cmms_asset_id, values in rows:
        old = stored.get(cmms_asset_id)
        if old is None:
            inserts.append(
                {"cmms_asset_id": cmms_asset_id, **values, "created_at": now, "updated_at": now}
            )
            continue
        synced = old.last_synced_at is not None
        written: dict[str, Any] = {}
        for name, value in values.items():
            before = getattr(old, name)
            if value is None or value == before:
                continue
            # An empty stored value is none Innomaint sent: the sheet fills it.
            if synced and name in owned and before is not None:
                if not sheet_wins:
                    kept += 1
                    continue
                taken += 1
            written[name] = value
        if not written:
            unchanged += 1
            continue
        updates.append(
            {"b_asset_id": old.asset_id, "b_updated_at": now}
            | {f"b_{k}": written.get(k) for k in columns}
        )
        history.extend(_changes(old, written, cmms_asset_id, now))
    for chunk in _chunks(inserts):
        conn.execute(table.insert(), chunk)
    if updates:
        statement = _update_statement(columns)
        for chunk in _chunks(updates):
            conn.execute(statement, chunk)
    for chunk in _chunks(history):
        conn.execute(sa.insert(asset_change), chunk)
    return UpsertCounts(len(inserts), len(updates), unchanged, kept, taken, len(history))


def _changes(
    old: Any, written: Mapping[str, Any], cmms_asset_id: str, now: datetime
) -> Iterator[dict[str, Any]]:
    """The history rows of the values an import writes over an asset's stored ones."""
    for name, value in written.items():
        type_ = asset_master.c[name].type
        yield {
            "asset_id": old.asset_id,
            "cmms_asset_id": cmms_asset_id,
            "run_id": None,
            "table_name": asset_master.name,
            "column_name": name,
            "old_value": stored_text(getattr(old, name), type_),
            "new_value": stored_text(value, type_),
            "changed_at": now,
            "source": "register",
        }
