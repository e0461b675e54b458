"""One asset's writes: the dimension upserts, the asset master update, its performance and work
order rows, and log rows. Every function takes an open connection: the caller owns the
transaction, so one asset's writes commit or roll back together. The statements go through the
compiled fast path (fastpath.py); `transaction` sends one asset's BEGIN, statements and COMMIT in
one round trip.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db import fastpath, pgpipe
from ic3sync.db.errors import sqlstate
from ic3sync.db.fastpath import send_now, transaction
from ic3sync.db.schema import (
    asset_performance,
    building,
    department,
    floor,
    sync_log,
    sync_run,
    workorder_summary,
)

__all__ = [
    "heartbeat",
    "insert_logs",
    "send_now",
    "transaction",
    "unprepared",
    "write_asset",
]


def _upsert(
    conn: sa.Connection,
    table: sa.Table,
    keys: tuple[str, ...],
    values: Mapping[str, Any],
    touch: Mapping[str, Any],
) -> None:
    """INSERT, or on a key conflict UPDATE only the columns present in `values`.

    A column absent from `values` keeps what is stored (contract rule 4); `touch` is written
    on both paths (timestamps), except created_at, which only an INSERT sets.
    """
    row = {**values, **touch}
    fastpath.execute(
        conn, fastpath.upsert_statement(conn.dialect, table.name, keys, tuple(row)), [row]
    )


_DIMENSION_KEYS = {
    t.name: tuple(t.primary_key.columns.keys()) for t in (building, floor, department)
}


def upsert_dimension(
    conn: sa.Connection, table: sa.Table, row: Mapping[str, Any] | None, now: datetime
) -> None:
    if row:
        _upsert(
            conn, table, _DIMENSION_KEYS[table.name], row, {"created_at": now, "updated_at": now}
        )


def update_master(
    conn: sa.Connection, asset_id: int, values: Mapping[str, Any], now: datetime
) -> None:
    row = {**values, "last_synced_at": now, "updated_at": now}
    statement = fastpath.master_statement(conn.dialect, tuple(row))
    fastpath.execute(conn, statement, [{**row, "asset_id": asset_id}])


def upsert_performance(
    conn: sa.Connection, asset_id: int, values: Mapping[str, Any], now: datetime
) -> None:
    if values:
        _upsert(
            conn,
            asset_performance,
            ("asset_id",),
            {"asset_id": asset_id, **values},
            {"recorded_at": now},
        )


_WORKORDER_KEYS = ("asset_id", "period_type")


def upsert_workorders(
    conn: sa.Connection, asset_id: int, periods: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    rows = [{"asset_id": asset_id, **period, "updated_at": now} for period in periods]
    columns = tuple(rows[0]) if rows else ()
    if (
        conn.dialect.name != "postgresql"
        or len(rows) < 2
        or any(tuple(row) != columns for row in rows)
    ):
        # A statement each: on SQLite (where two cost less than one of two rows, measured), for
        # one period, or for periods the API sent different fields of.
        for row in rows:
            _upsert(conn, workorder_summary, _WORKORDER_KEYS, row, {})
        return
    # On PostgreSQL the usual answer, every period with the same fields, goes in one statement:
    # the server's work per statement is the larger part of its cost.
    statement = fastpath.upsert_rows_statement(
        conn.dialect, workorder_summary.name, _WORKORDER_KEYS, columns, len(rows)
    )
    fastpath.execute(
        conn, statement, [{f"{i}_{c}": v for i, row in enumerate(rows) for c, v in row.items()}]
    )


def write_asset(conn: sa.Connection, asset_id: int, rows: Any, now: datetime) -> None:
    """Everything one API answer changes. `rows` is a mapping.AssetRows."""
    upsert_dimension(conn, building, rows.building, now)
    upsert_dimension(conn, floor, rows.floor, now)
    upsert_dimension(conn, department, rows.department, now)
    update_master(conn, asset_id, rows.master, now)
    upsert_performance(conn, asset_id, rows.performance, now)
    upsert_workorders(conn, asset_id, rows.workorders, now)


def insert_logs(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log rows, all with the same keys (one asset's, or the skipped rest of a run)."""
    if rows:
        fastpath.execute(
            conn, fastpath.insert_statement(conn.dialect, sync_log.name, tuple(rows[0])), rows
        )


def heartbeat(conn: sa.Connection, run_id: int, values: Mapping[str, Any]) -> None:
    """The run row's counters, in the caller's transaction (an asset's)."""
    row = {**values, "run_id": run_id}
    statement = fastpath.update_statement(conn.dialect, sync_run.name, "run_id", tuple(values))
    fastpath.execute(conn, statement, [row])


def unprepared(exc: BaseException) -> bool:
    """Whether `exc` says the session lost a prepared statement of the write path (someone ran
    DEALLOCATE); the write path prepares it again on its next use."""
    return sqlstate(exc) == pgpipe.UNPREPARED_SQLSTATE
