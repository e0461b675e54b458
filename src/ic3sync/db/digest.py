"""What a run's notification says beyond its counts: its failures, each with how long the
asset has been failing, and whether the run was a sync-one. Read-only; each is one query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ic3sync.db.read.rows import utc
from ic3sync.db.schema import TZ, sync_log, sync_run
from ic3sync.model import SyncResult


@dataclass(frozen=True, slots=True)
class FailureHistory:
    """A failed asset of a run, and its streak: the failed attempts since its last success
    (or since it first ran), this one included."""

    cmms_asset_id: str
    reason: str
    kind: str | None
    since_run: int
    since_at: datetime | None
    runs: int
    # An earlier run of the streak was one whose failures are told (not a sync-one, not
    # cancelled), so this failure is old news.
    told: bool

    @property
    def new(self) -> bool:
        """Its previous attempt succeeded, or it never ran before."""
        return self.runs == 1


def failure_history(conn: sa.Connection, run_id: int) -> list[FailureHistory]:
    """Every failed asset of a run with its streak, in the order they were logged."""
    cur = (
        sa.select(
            sync_log.c.log_id,
            sync_log.c.cmms_asset_id,
            sync_log.c.error_message,
            sync_log.c.error_kind,
        )
        .where(sync_log.c.run_id == run_id, sync_log.c.status == "failed")
        .subquery("cur")
    )
    ok = sync_log.alias("ok")
    last_ok = (
        sa.select(cur.c.cmms_asset_id, sa.func.max(ok.c.log_id).label("ok_id"))
        .select_from(
            cur.join(
                ok,
                sa.and_(
                    ok.c.cmms_asset_id == cur.c.cmms_asset_id,
                    ok.c.status == "success",
                    ok.c.log_id < cur.c.log_id,
                ),
            )
        )
        .group_by(cur.c.cmms_asset_id)
        .subquery("last_ok")
    )
    streak = sync_log.alias("streak")
    told_by = sa.case(
        (
            sa.and_(
                streak.c.run_id != run_id,
                sync_run.c.cmms_asset_id.is_(None),
                sync_run.c.status != "cancelled",
            ),
            1,
        ),
        else_=0,
    )
    rows = conn.execute(
        sa.select(
            cur.c.cmms_asset_id,
            cur.c.error_message,
            cur.c.error_kind,
            sa.func.min(streak.c.run_id).label("since_run"),
            sa.func.min(streak.c.synced_at, type_=TZ).label("since_at"),
            sa.func.count(sa.distinct(streak.c.run_id)).label("runs"),
            sa.func.max(told_by).label("told"),
        )
        .select_from(
            cur.outerjoin(last_ok, last_ok.c.cmms_asset_id == cur.c.cmms_asset_id)
            .join(
                streak,
                sa.and_(
                    streak.c.cmms_asset_id == cur.c.cmms_asset_id,
                    streak.c.status == "failed",
                    streak.c.log_id <= cur.c.log_id,
                    streak.c.log_id > sa.func.coalesce(last_ok.c.ok_id, 0),
                ),
            )
            .join(sync_run, sync_run.c.run_id == streak.c.run_id)
        )
        .group_by(cur.c.log_id, cur.c.cmms_asset_id, cur.c.error_message, cur.c.error_kind)
        .order_by(cur.c.log_id)
    ).all()
    return [
        FailureHistory(
            cmms_asset_id=r.cmms_asset_id,
            reason=r.error_message or "failed",
            kind=r.error_kind,
            since_run=r.since_run,
            since_at=utc(r.since_at),
            runs=r.runs,
            told=bool(r.told),
        )
        for r in rows
    ]


def single_asset_run(conn: sa.Connection, run_id: int) -> bool:
    """Whether the run synced one named asset (sync-one): its scope is `asset`."""
    scope = conn.execute(
        sa.select(sync_run.c.scope).where(sync_run.c.run_id == run_id)
    ).scalar_one_or_none()
    return scope == "asset"


def closed_run(conn: sa.Connection, run_id: int) -> tuple[str, SyncResult] | None:
    """(trigger, result) of a run as its row says, for a run whose own process is gone."""
    row = conn.execute(sa.select(sync_run).where(sync_run.c.run_id == run_id)).first()
    if row is None:
        return None
    duration = row.duration_ms
    if duration is None and row.finished_at is not None:
        duration = int((row.finished_at - row.started_at).total_seconds() * 1000)
    result = SyncResult(
        run_id=row.run_id,
        total=row.total,
        success=row.success,
        failed=row.failed,
        skipped=row.skipped,
        duration_ms=duration or 0,
        status=row.status,
        error=row.error,
    )
    return row.trigger, result


def last_full_run_completed(conn: sa.Connection) -> datetime | None:
    """When the latest full run (scope `full`: every asset) completed; None when none has."""
    r = sync_run.c
    finished = conn.execute(
        sa.select(sa.func.max(r.finished_at, type_=TZ)).where(
            r.status == "completed",
            r.scope == "full",
        )
    ).scalar_one_or_none()
    return utc(finished)


def last_scheduled_start(engine: sa.Engine) -> datetime | None:
    """When the latest run the schedule started began; None when it never started one."""
    with engine.connect() as conn:
        started = conn.execute(
            sa.select(sa.func.max(sync_run.c.started_at, type_=TZ)).where(
                sync_run.c.trigger == "schedule"
            )
        ).scalar_one_or_none()
    return utc(started)
