"""The writes and reads of a sync, one function per table family. Every function takes an open
connection: the caller owns the transaction, so one asset's writes commit or roll back together.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ic3sync.db.schema import (
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    metadata,
    sync_log,
    sync_run,
    workorder_summary,
)


@dataclass(frozen=True, slots=True)
class AssetRef:
    """An asset of the register as a run sees it."""

    asset_id: int
    cmms_asset_id: str
    customer_id: int | None


@dataclass(frozen=True, slots=True)
class AssetSelection:
    """Which assets a run takes. The order is the contract's: report_seq_no, then asset_id."""

    batch: int | None = None
    offset: int = 0
    customer_id: int | None = None
    only_failed: bool = False
    cmms_asset_id: str | None = None


# --- the per-asset write path ------------------------------------------------------------
# A run writes the same few statement shapes for thousands of assets. Building and compiling
# them through SQLAlchemy for every asset cost several times the database's own work (see
# docs/performance.md), so each shape is compiled once and run on the DBAPI cursor of the
# caller's transaction; inside `pipeline()` PostgreSQL gets an asset's statements in one round
# trip instead of one each.

_CompiledKey = tuple[str, str, str, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement shape, ready for the driver: its SQL and how to lay out its parameters."""

    sql: str
    positional: bool
    # (bind name, key of the row dict, the dialect's bind processor if the type has one)
    binds: tuple[tuple[str, str, Callable[[Any], Any] | None], ...]

    def parameters(self, row: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = [
            row[key] if process is None or row[key] is None else process(row[key])
            for _, key, process in self.binds
        ]
        if self.positional:
            return values
        return {name: value for (name, _, _), value in zip(self.binds, values, strict=True)}


def _bind(column: sa.Column[Any]) -> sa.BindParameter[Any]:
    # Not the bare column name: SQLAlchemy reserves those for its own VALUES/SET parameters.
    return sa.bindparam("p_" + column.key, type_=column.type)


def _compile(dialect: sa.Dialect, stmt: sa.Executable) -> _Compiled:
    compiled = stmt.compile(dialect=dialect)
    names = compiled.positiontup if compiled.positional else list(compiled.binds)
    binds = []
    for name in names or ():
        param = compiled.binds[name]
        process = param.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((name, name.removeprefix("p_"), process))
    return _Compiled(compiled.string, compiled.positional, tuple(binds))


@functools.lru_cache(maxsize=256)
def _upsert_statement(
    dialect: sa.Dialect, table_name: str, keys: tuple[str, ...], columns: tuple[str, ...]
) -> _Compiled:
    table = metadata.tables[table_name]
    insert = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
    stmt = insert(table).values({c: _bind(table.c[c]) for c in columns})
    update = {c: stmt.excluded[c] for c in columns if c not in keys and c != "created_at"}
    return _compile(dialect, stmt.on_conflict_do_update(index_elements=list(keys), set_=update))


@functools.lru_cache(maxsize=256)
def _master_statement(dialect: sa.Dialect, columns: tuple[str, ...]) -> _Compiled:
    t = asset_master
    stmt = (
        sa.update(t)
        .where(t.c.asset_id == sa.bindparam("p_asset_id", type_=t.c.asset_id.type))
        .values(
            {t.c[c]: _bind(t.c[c]) for c in columns}
            | {t.c.sync_version: t.c.sync_version + sa.literal_column("1")}
        )
    )
    return _compile(dialect, stmt)


@functools.lru_cache(maxsize=8)
def _insert_statement(dialect: sa.Dialect, table_name: str, columns: tuple[str, ...]) -> _Compiled:
    table = metadata.tables[table_name]
    return _compile(dialect, sa.insert(table).values({c: _bind(table.c[c]) for c in columns}))


def _execute(conn: sa.Connection, statement: _Compiled, rows: Sequence[Mapping[str, Any]]) -> None:
    """Run `statement` once per row on the connection's DBAPI cursor, inside its transaction.

    Driver errors leave as SQLAlchemy's DBAPIError subclasses, as Connection.execute raises them,
    so callers handle one family of errors whichever path wrote.
    """
    fairy = conn.connection
    params = [statement.parameters(row) for row in rows]
    cursor = fairy.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with _driver_errors(conn, fairy, statement.sql, params):
            if len(params) == 1:
                cursor.execute(statement.sql, params[0])
            else:
                cursor.executemany(statement.sql, params)
    finally:
        cursor.close()


@contextlib.contextmanager
def _driver_errors(conn: sa.Connection, fairy: Any, sql: str | None, params: Any) -> Iterator[None]:
    dbapi_error = conn.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as exc:
        lost = conn.dialect.is_disconnect(exc, fairy.dbapi_connection, None)
        if lost:
            # What Connection.execute does on a disconnect: this connection is done for.
            conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(
            sql, params, exc, dbapi_error, connection_invalidated=lost
        ) from exc


@contextlib.contextmanager
def pipeline(conn: sa.Connection) -> Iterator[None]:
    """Send the statements of the write path run inside as one batch: PostgreSQL gets them in
    one round trip (psycopg pipeline mode) and reports the first error on leaving. SQLite runs in
    process and has no round trips to save. Only this module's writes may run inside."""
    if conn.dialect.name != "postgresql":
        yield
        return
    fairy = conn.connection
    with _driver_errors(conn, fairy, None, None), fairy.driver_connection.pipeline():  # type: ignore[union-attr]
        yield


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
    _execute(conn, _upsert_statement(conn.dialect, table.name, keys, tuple(row)), [row])


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
    statement = _master_statement(conn.dialect, tuple(row))
    _execute(conn, statement, [{**row, "asset_id": asset_id}])


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


def upsert_workorders(
    conn: sa.Connection, asset_id: int, periods: Iterable[Mapping[str, Any]], now: datetime
) -> None:
    for period in periods:
        _upsert(
            conn,
            workorder_summary,
            ("asset_id", "period_type"),
            {"asset_id": asset_id, **period},
            {"updated_at": now},
        )


def write_asset(conn: sa.Connection, asset_id: int, rows: Any, now: datetime) -> None:
    """Everything one API answer changes. `rows` is an enrich.AssetRows."""
    upsert_dimension(conn, building, rows.building, now)
    upsert_dimension(conn, floor, rows.floor, now)
    upsert_dimension(conn, department, rows.department, now)
    update_master(conn, asset_id, rows.master, now)
    upsert_performance(conn, asset_id, rows.performance, now)
    upsert_workorders(conn, asset_id, rows.workorders, now)


# --- the register ------------------------------------------------------------------------


def latest_outcome_failed() -> sa.ColumnElement[bool]:
    """True for assets whose latest success-or-failure log row is a failure.

    Skipped rows (a run stopped before the asset) do not hide an earlier failure.
    """
    inner = sync_log.alias("decided")
    latest = (
        sa.select(sa.func.max(inner.c.log_id))
        .where(
            inner.c.cmms_asset_id == asset_master.c.cmms_asset_id,
            inner.c.status.in_(("success", "failed")),
        )
        .correlate(asset_master)
        .scalar_subquery()
    )
    failed = (
        sa.select(sync_log.c.log_id)
        .where(sync_log.c.log_id == latest, sync_log.c.status == "failed")
        .correlate(asset_master)
    )
    return sa.exists(failed)


def select_assets(conn: sa.Connection, sel: AssetSelection) -> list[AssetRef]:
    query = sa.select(
        asset_master.c.asset_id, asset_master.c.cmms_asset_id, asset_master.c.customer_id
    ).order_by(asset_master.c.report_seq_no.asc().nulls_last(), asset_master.c.asset_id)
    if sel.cmms_asset_id is not None:
        query = query.where(asset_master.c.cmms_asset_id == sel.cmms_asset_id)
    if sel.customer_id is not None:
        query = query.where(asset_master.c.customer_id == sel.customer_id)
    if sel.only_failed:
        query = query.where(latest_outcome_failed())
    if sel.offset:
        query = query.offset(sel.offset)
    if sel.batch is not None:
        query = query.limit(sel.batch)
    return [AssetRef(*row) for row in conn.execute(query)]


# --- runs and their log ------------------------------------------------------------------


def create_run(
    conn: sa.Connection,
    *,
    trigger: str,
    sel: AssetSelection,
    now: datetime,
    host: str,
    pid: int,
) -> int:
    return conn.execute(
        sa.insert(sync_run)
        .values(
            trigger=trigger,
            batch_size=sel.batch,
            offset_start=sel.offset,
            customer_id=sel.customer_id,
            only_failed=sel.only_failed,
            cmms_asset_id=sel.cmms_asset_id,
            status="running",
            started_at=now,
            heartbeat_at=now,
            host=host,
            pid=pid,
        )
        .returning(sync_run.c.run_id)
    ).scalar_one()


def update_run(conn: sa.Connection, run_id: int, **values: Any) -> None:
    conn.execute(sa.update(sync_run).where(sync_run.c.run_id == run_id).values(**values))


def running_run_id(conn: sa.Connection) -> int | None:
    return conn.execute(
        sa.select(sync_run.c.run_id)
        .where(sync_run.c.status == "running")
        .order_by(sync_run.c.run_id.desc())
        .limit(1)
    ).scalar()


def log_counts(conn: sa.Connection, run_id: int) -> dict[str, int]:
    rows = conn.execute(
        sa.select(sync_log.c.status, sa.func.count())
        .where(sync_log.c.run_id == run_id)
        .group_by(sync_log.c.status)
    )
    counts = {"success": 0, "failed": 0, "skipped": 0}
    counts.update({status: n for status, n in rows})
    return counts


def mark_dead_runs_interrupted(conn: sa.Connection, now: datetime) -> list[int]:
    """Runs still `running` when the run lock was free belong to a process that died."""
    dead = (
        conn.execute(sa.select(sync_run.c.run_id).where(sync_run.c.status == "running"))
        .scalars()
        .all()
    )
    for run_id in dead:
        counts = log_counts(conn, run_id)
        update_run(
            conn,
            run_id,
            status="interrupted",
            finished_at=now,
            current_asset=None,
            error="the process running this sync stopped without finishing it",
            **counts,
        )
    return list(dead)


def insert_logs(conn: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Log rows, all with the same keys (one asset's, or the skipped rest of a run)."""
    if rows:
        _execute(conn, _insert_statement(conn.dialect, sync_log.name, tuple(rows[0])), rows)


def logged_outcome(conn: sa.Connection, run_id: int, cmms_asset_id: str) -> dict[str, Any] | None:
    """The outcome this run logged for an asset, if any: after a lost connection it tells
    whether the asset's transaction committed before the loss."""
    row = conn.execute(
        sa.select(
            sync_log.c.status,
            sync_log.c.error_message.label("error"),
            sync_log.c.http_status,
            sync_log.c.attempts,
            sync_log.c.duration_ms,
        ).where(sync_log.c.run_id == run_id, sync_log.c.cmms_asset_id == cmms_asset_id)
    ).first()
    return None if row is None else dict(row._mapping)


def find_asset(conn: sa.Connection, cmms_asset_id: str) -> AssetRef | None:
    row = conn.execute(
        sa.select(
            asset_master.c.asset_id, asset_master.c.cmms_asset_id, asset_master.c.customer_id
        ).where(asset_master.c.cmms_asset_id == cmms_asset_id)
    ).first()
    return AssetRef(*row) if row else None
