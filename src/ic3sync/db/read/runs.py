"""Runs as read models: the run history, one run with its progress, its per-asset log rows and
its failures grouped."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ic3sync.db.read.rows import as_read, utc
from ic3sync.db.runs import log_counts
from ic3sync.db.schema import sync_log, sync_run
from ic3sync.db.views import (
    FailureGroup,
    FailureKind,
    LogPage,
    LogRow,
    RunFilters,
    RunPage,
    RunView,
)
from ic3sync.errors import RunNotFound
from ic3sync.model import LiveProgress, LogStatus, RunScope, RunStatus, Trigger


def require_run(conn: sa.Connection, run_id: int) -> None:
    """RunNotFound when there is no such run."""
    exists = conn.execute(sa.select(sync_run.c.run_id).where(sync_run.c.run_id == run_id)).first()
    if exists is None:
        raise RunNotFound(run_id)


def _live_of(
    row: Mapping[Any, Any], live: Mapping[int, LiveProgress] | None
) -> LiveProgress | None:
    if live is None or row["status"] != "running":
        return None
    return live.get(row["run_id"])


def _run_view(row: Mapping[Any, Any], live: LiveProgress | None = None) -> RunView:
    status = row["status"]
    counts = {"success": row["success"], "failed": row["failed"], "skipped": row["skipped"]}
    current = row["current_asset"]
    if live is not None:
        counts = live.counts()
        current = live.current
    done = sum(counts.values())
    total = row["total"]
    started = utc(row["started_at"])
    assert started is not None  # NOT NULL column
    return RunView(
        run_id=row["run_id"],
        trigger=row["trigger"],
        scope=row["scope"],
        status=status,
        filters=RunFilters(
            batch=row["batch_size"],
            offset=row["offset_start"],
            customer_id=row["customer_id"],
            only_failed=row["only_failed"],
            cmms_asset_id=row["cmms_asset_id"],
        ),
        total=total,
        done=done,
        progress_pct=round(100.0 * done / total, 1) if total else 0.0,
        current_asset=current if status == "running" else None,
        started_at=started,
        heartbeat_at=utc(row["heartbeat_at"]),
        finished_at=utc(row["finished_at"]),
        duration_ms=row["duration_ms"],
        error=row["error"],
        host=row["host"],
        pid=row["pid"],
        **counts,
    )


def list_runs(
    conn: sa.Connection,
    *,
    status: RunStatus | None = None,
    trigger: Trigger | None = None,
    scope: RunScope | None = None,
    limit: int = 20,
    offset: int = 0,
    live: Mapping[int, LiveProgress] | None = None,
) -> RunPage:
    """Runs, newest first. `live` holds the progress of the runs this process executes."""
    where = [sync_run.c.status == status] if status else []
    if trigger:
        where.append(sync_run.c.trigger == trigger)
    if scope:
        where.append(sync_run.c.scope == scope)
    total = conn.execute(sa.select(sa.func.count()).select_from(sync_run).where(*where)).scalar()
    rows = conn.execute(
        sa.select(sync_run)
        .where(*where)
        .order_by(sync_run.c.run_id.desc())
        .limit(limit)
        .offset(offset)
    ).mappings()
    items = [_run_view(r, _live_of(r, live)) for r in rows]
    return RunPage(items=items, total=total or 0, limit=limit, offset=offset)


def get_run(
    conn: sa.Connection, run_id: int, live: Mapping[int, LiveProgress] | None = None
) -> RunView:
    row = conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)).mappings().first()
    if row is None:
        raise RunNotFound(run_id)
    if row["status"] == "running" and (progress := _live_of(row, live)) is not None:
        return _run_view(row, progress)
    if row["status"] == "running":
        # Another process runs it: its row's counters lag by a heartbeat, the log does not.
        merged = {**row, **log_counts(conn, run_id)}
        return _run_view(merged)
    return _run_view(row)


def last_full_completion(conn: sa.Connection) -> datetime | None:
    """When the last full run that completed finished: the data is as fresh as that."""
    return utc(
        conn.execute(
            sa.select(sa.func.max(sync_run.c.finished_at)).where(
                sync_run.c.scope == "full", sync_run.c.status == "completed"
            )
        ).scalar()
    )


def run_log(
    conn: sa.Connection,
    run_id: int,
    *,
    status: LogStatus | None = None,
    cmms_asset_id: str | None = None,
    search: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> LogPage:
    """A run's per-asset rows in the order they were written; `search` keeps the rows whose
    asset id contains it, ignoring case."""
    require_run(conn, run_id)
    where = [sync_log.c.run_id == run_id]
    if status:
        where.append(sync_log.c.status == status)
    if cmms_asset_id is not None:
        where.append(sync_log.c.cmms_asset_id == cmms_asset_id)
    if search:
        # autoescape: an id with % or _ is searched for as written.
        where.append(sync_log.c.cmms_asset_id.icontains(search, autoescape=True))
    total = conn.execute(sa.select(sa.func.count()).select_from(sync_log).where(*where)).scalar()
    rows = conn.execute(
        sa.select(sync_log).where(*where).order_by(sync_log.c.log_id).limit(limit).offset(offset)
    ).mappings()
    return LogPage(
        items=[LogRow(**as_read(r)) for r in rows],
        total=total or 0,
        limit=limit,
        offset=offset,
    )


def failure_groups(conn: sa.Connection, run_id: int) -> list[FailureGroup]:
    """A run's failures grouped by (error_kind, http_status, error_message), most frequent
    first."""
    n = sa.func.count().label("n")
    log = sync_log.c
    rows = conn.execute(
        sa.select(log.error_kind, log.http_status, log.error_message, n)
        .where(log.run_id == run_id, log.status == "failed")
        .group_by(log.error_kind, log.http_status, log.error_message)
        .order_by(n.desc(), log.error_message)
    )
    return [
        FailureGroup(error_kind=k, http_status=h, error_message=m, count=c) for k, h, m, c in rows
    ]


def failure_kinds(conn: sa.Connection, run_id: int, *, first: int = 5) -> list[FailureKind]:
    """A run's failures by kind, most frequent first, each with its first `first` assets in
    the order the run met them. RunNotFound when there is no such run."""
    require_run(conn, run_id)
    log = sync_log.c
    n = sa.func.count().label("n")
    counts = conn.execute(
        sa.select(log.error_kind, n)
        .where(log.run_id == run_id, log.status == "failed")
        .group_by(log.error_kind)
        .order_by(n.desc(), log.error_kind)
    ).all()
    kinds = []
    for kind, count in counts:
        same_kind = log.error_kind.is_(None) if kind is None else log.error_kind == kind
        rows = conn.execute(
            sa.select(log.cmms_asset_id, log.error_message)
            .where(log.run_id == run_id, log.status == "failed", same_kind)
            .order_by(log.log_id)
            .limit(first)
        ).all()
        kinds.append(
            FailureKind(
                error_kind=kind,
                count=count,
                example=rows[0].error_message if rows else None,
                first_assets=[r.cmms_asset_id for r in rows],
            )
        )
    return kinds
