"""The writes and reads of a sync, one function per table family. Every function takes an open
connection: the caller owns the transaction, so one asset's writes commit or roll back together.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _upsert(
    conn: sa.Connection,
    table: sa.Table,
    keys: Sequence[str],
    values: Mapping[str, Any],
    touch: Mapping[str, Any],
) -> None:
    """INSERT, or on a key conflict UPDATE only the columns present in `values`.

    A column absent from `values` keeps what is stored (contract rule 4); `touch` is written
    on both paths (timestamps).
    """
    stmt = _insert(conn, table).values({**values, **touch})
    update = {k: stmt.excluded[k] for k in values if k not in keys}
    update.update({k: stmt.excluded[k] for k in touch if k != "created_at"})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=update))


def upsert_dimension(
    conn: sa.Connection, table: sa.Table, row: Mapping[str, Any] | None, now: datetime
) -> None:
    if row:
        key = table.primary_key.columns.keys()
        _upsert(conn, table, key, row, {"created_at": now, "updated_at": now})


def update_master(
    conn: sa.Connection, asset_id: int, values: Mapping[str, Any], now: datetime
) -> None:
    conn.execute(
        sa.update(asset_master)
        .where(asset_master.c.asset_id == asset_id)
        .values(
            **values,
            last_synced_at=now,
            sync_version=asset_master.c.sync_version + 1,
            updated_at=now,
        )
    )


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
    if rows:
        conn.execute(sa.insert(sync_log), list(rows))


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
