"""One asset's writes: the dimension upserts, the asset master update, its performance and work
order rows, and log rows. Every function takes an open connection: the caller owns the
transaction, so one asset's writes commit or roll back together. Plain SQLAlchemy Core: each
statement shape is compiled once by SQLAlchemy's own cache, and psycopg prepares the ones a run
repeats (its prepare_threshold).
"""

from __future__ import annotations

import functools
from collections.abc import Container, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ic3sync.db.schema import (
    REFERENCE_TABLES,
    asset_master,
    asset_performance,
    metadata,
    sync_log,
    sync_run,
    workorder_summary,
)

__all__ = ["WrittenReferences", "heartbeat", "insert_logs", "write_asset"]


@functools.cache
def _upsert_statement(
    dialect: str, table_name: str, keys: tuple[str, ...], columns: tuple[str, ...]
) -> sa.Insert:
    """INSERT, or on a key conflict UPDATE only `columns` (created_at only by an INSERT). Built
    once a shape: its values travel as parameters, so SQLAlchemy compiles it once too."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(metadata.tables[table_name])
    update = {c: stmt.excluded[c] for c in columns if c not in keys and c != "created_at"}
    return stmt.on_conflict_do_update(index_elements=list(keys), set_=update)


def _upsert(
    conn: sa.Connection,
    table: sa.Table,
    keys: tuple[str, ...],
    rows: Sequence[Mapping[str, Any]],
) -> None:
    """INSERT, or on a key conflict UPDATE only the columns present in the rows (all of the same
    columns). A column absent keeps what is stored (contract rule 4)."""
    stmt = _upsert_statement(conn.dialect.name, table.name, keys, tuple(rows[0]))
    conn.execute(stmt, list(rows))


def upsert_dimension(
    conn: sa.Connection, table: sa.Table, row: Mapping[str, Any] | None, now: datetime
) -> None:
    if row:
        keys = tuple(table.primary_key.columns.keys())
        _upsert(conn, table, keys, [{**row, "created_at": now, "updated_at": now}])


@functools.cache
def _master_statement(columns: tuple[str, ...]) -> sa.Update:
    t = asset_master
    return (
        sa.update(t)
        .where(t.c.asset_id == sa.bindparam("p_asset_id"))
        .values(
            {t.c[c]: sa.bindparam(f"v_{c}", type_=t.c[c].type) for c in columns}
            | {t.c.sync_version: t.c.sync_version + 1}
        )
    )


def update_master(
    conn: sa.Connection, asset_id: int, values: Mapping[str, Any], now: datetime
) -> None:
    row = {**values, "last_synced_at": now, "updated_at": now}
    parameters = {f"v_{c}": v for c, v in row.items()}
    conn.execute(_master_statement(tuple(row)), {"p_asset_id": asset_id, **parameters})


def upsert_performance(
    conn: sa.Connection, asset_id: int, values: Mapping[str, Any], now: datetime
) -> None:
    if values:
        row = {"asset_id": asset_id, **values, "recorded_at": now}
        _upsert(conn, asset_performance, ("asset_id",), [row])


def upsert_workorders(
    conn: sa.Connection, asset_id: int, periods: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    # The API may send different fields for each period: the periods that have the same ones
    # (nearly always all of them) go in one execution.
    shapes: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for period in periods:
        row = {"asset_id": asset_id, **period, "updated_at": now}
        shapes.setdefault(tuple(row), []).append(row)
    for rows in shapes.values():
        _upsert(conn, workorder_summary, ("asset_id", "period_type"), rows)


class WrittenReferences:
    """The reference rows (building, floor, department) a run has committed, as it wrote them.
    The thousands of assets of a register share a few hundred of these rows: a row this run
    already wrote, with the same values, need not be written again for every asset that names
    it. Told only of committed transactions; forgets everything when a write fails."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, Any], dict[str, Any]] = {}

    @staticmethod
    def _key(table: sa.Table, row: Mapping[str, Any]) -> tuple[str, Any]:
        return table.name, tuple(row.get(c.name) for c in table.primary_key.columns)

    def holds(self, table: sa.Table, row: Mapping[str, Any]) -> bool:
        return self._rows.get(self._key(table, row)) == row

    def remember(self, written: Iterable[tuple[sa.Table, Mapping[str, Any]]]) -> None:
        for table, row in written:
            self._rows[self._key(table, row)] = dict(row)

    def forget(self) -> None:
        self._rows.clear()


def write_asset(
    conn: sa.Connection,
    asset_id: int,
    rows: Any,
    now: datetime,
    *,
    written: WrittenReferences | None = None,
    changed: Container[str] = (),
) -> list[tuple[sa.Table, Mapping[str, Any]]]:
    """Everything one API answer changes. `rows` is a mapping.AssetRows. A reference row that
    `written` holds with the same values is left as it is, unless its table is in `changed`
    (the asset's stored values showed it differs: changed elsewhere since). Returns the
    reference rows written, for `written` to remember once the transaction has committed."""
    upserted: list[tuple[sa.Table, Mapping[str, Any]]] = []
    for attribute, table, _, _ in REFERENCE_TABLES:
        row = getattr(rows, attribute)
        if not row or (
            written is not None and table.name not in changed and written.holds(table, row)
        ):
            continue
        upsert_dimension(conn, table, row, now)
        upserted.append((table, row))
    update_master(conn, asset_id, rows.master, now)
    upsert_performance(conn, asset_id, rows.performance, now)
    upsert_workorders(conn, asset_id, rows.workorders, now)
    return upserted


# Built once: its values travel as parameters.
_LOG_INSERT = sa.insert(sync_log)


def insert_logs(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log rows, all with the same keys (one asset's, or the skipped rest of a run)."""
    if rows:
        conn.execute(_LOG_INSERT, list(rows))


def heartbeat(conn: sa.Connection, run_id: int, values: Mapping[str, Any]) -> None:
    """The run row's counters, in the caller's transaction."""
    conn.execute(sa.update(sync_run).where(sync_run.c.run_id == run_id).values(**values))
