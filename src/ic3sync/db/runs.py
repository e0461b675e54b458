"""The run rows: create and update a run, find the running one, count its log, mark the runs
of dead processes interrupted, and read back what a run logged for an asset."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.schema import sync_log, sync_run
from ic3sync.model import AssetSelection


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
            scope=sel.scope,
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


def request_cancel(conn: sa.Connection, run_id: int, now: datetime) -> bool:
    """Record a cancel request in a running run's row; False when the run is not running."""
    result = conn.execute(
        sa.update(sync_run)
        .where(sync_run.c.run_id == run_id, sync_run.c.status == "running")
        .values(cancel_requested_at=sa.func.coalesce(sync_run.c.cancel_requested_at, now))
    )
    return result.rowcount == 1


def cancel_requested(conn: sa.Connection, run_id: int) -> bool:
    return (
        conn.execute(
            sa.select(sync_run.c.cancel_requested_at).where(sync_run.c.run_id == run_id)
        ).scalar()
        is not None
    )


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


def logged_outcome(conn: sa.Connection, run_id: int, cmms_asset_id: str) -> dict[str, Any] | None:
    """The outcome this run logged for an asset, if any: after a lost connection it tells
    whether the asset's transaction committed before the loss."""
    row = conn.execute(
        sa.select(
            sync_log.c.status,
            sync_log.c.error_message.label("error"),
            sync_log.c.error_kind,
            sync_log.c.http_status,
            sync_log.c.attempts,
            sync_log.c.duration_ms,
        ).where(sync_log.c.run_id == run_id, sync_log.c.cmms_asset_id == cmms_asset_id)
    ).first()
    return None if row is None else dict(row._mapping)
