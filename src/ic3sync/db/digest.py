"""What a run's notification says beyond its counts: its first failures, and what it changed
in the register counted by column. Read-only; each is one short query."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ic3sync.db.schema import sync_log, sync_run
from ic3sync.model import SyncResult


@dataclass(frozen=True, slots=True)
class LoggedFailure:
    cmms_asset_id: str
    reason: str
    http_status: int | None
    kind: str | None


def run_failures(conn: sa.Connection, run_id: int, limit: int) -> list[LoggedFailure]:
    """The first `limit` failed assets of a run, in the order they were logged."""
    rows = conn.execute(
        sa.select(
            sync_log.c.cmms_asset_id,
            sync_log.c.error_message,
            sync_log.c.http_status,
            sync_log.c.error_kind.label("kind"),
        )
        .where(sync_log.c.run_id == run_id, sync_log.c.status == "failed")
        .order_by(sync_log.c.log_id)
        .limit(limit)
    ).all()
    return [
        LoggedFailure(r.cmms_asset_id, r.error_message or "failed", r.http_status, r.kind)
        for r in rows
    ]


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
