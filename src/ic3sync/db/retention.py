"""Pruning of cmms_sync_log and cmms_sync_run past the retention (IC3_LOG_RETENTION_DAYS).

Each batch is its own short transaction over a primary-key range, so a running sync never waits
on it for long (on SQLite, where a writer locks the whole file, the same holds). Each asset's
latest log row stays, and so does every run a kept log row or the change history points at."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ic3sync.db.errors import db_reason
from ic3sync.db.schema import asset_change, sync_log, sync_run

log = logging.getLogger("ic3sync.retention")

# Rows per transaction: a batch deletes in a few tens of milliseconds on PostgreSQL.
BATCH = 5000


@dataclass(slots=True)
class PruneResult:
    cutoff: datetime
    log_rows: int = 0
    runs: int = 0
    batches: int = 0
    seconds: float = 0.0
    # False when a time budget ran out first; the next prune goes on where this one stopped.
    complete: bool = True


def cutoff_for(days: int, now: datetime | None = None) -> datetime:
    return (now or datetime.now(UTC)) - timedelta(days=days)


def _old_log_rows(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Log rows older than the cutoff that are not their asset's latest."""
    newer = sync_log.alias("newer")
    return sa.and_(
        sync_log.c.synced_at < cutoff,
        sa.exists().where(
            newer.c.cmms_asset_id == sync_log.c.cmms_asset_id,
            newer.c.log_id > sync_log.c.log_id,
        ),
    )


def _old_runs(cutoff: datetime) -> sa.ColumnElement[bool]:
    """Finished runs started before the cutoff that no log row and no change row points at."""
    return sa.and_(
        sync_run.c.started_at < cutoff,
        sync_run.c.status != "running",
        ~sa.exists().where(sync_log.c.run_id == sync_run.c.run_id),
        _outside_history(),
    )


def _outside_history() -> sa.ColumnElement[bool]:
    """A run the change history points at stays."""
    return ~sa.exists().where(asset_change.c.run_id == sync_run.c.run_id)


def count_prunable(engine: sa.Engine, days: int, now: datetime | None = None) -> PruneResult:
    """What a prune would delete now, deleting nothing."""
    started = time.monotonic()
    result = PruneResult(cutoff_for(days, now))
    with engine.connect() as conn:
        result.log_rows = conn.execute(
            sa.select(sa.func.count()).select_from(sync_log).where(_old_log_rows(result.cutoff))
        ).scalar_one()
        # Runs whose every log row goes in this prune count too.
        survivors = sync_log.alias("survivor")
        old_run = sa.and_(
            sync_run.c.started_at < result.cutoff,
            sync_run.c.status != "running",
            ~sa.exists().where(
                survivors.c.run_id == sync_run.c.run_id,
                sa.or_(
                    survivors.c.synced_at >= result.cutoff,
                    ~sa.exists().where(
                        sync_log.c.cmms_asset_id == survivors.c.cmms_asset_id,
                        sync_log.c.log_id > survivors.c.log_id,
                    ),
                ),
            ),
            _outside_history(),
        )
        result.runs = conn.execute(
            sa.select(sa.func.count()).select_from(sync_run).where(old_run)
        ).scalar_one()
    result.seconds = time.monotonic() - started
    return result


def prune(
    engine: sa.Engine,
    days: int,
    *,
    now: datetime | None = None,
    budget_s: float | None = None,
    batch: int = BATCH,
) -> PruneResult:
    """Delete the log rows and runs past the retention, `batch` rows per transaction. With
    `budget_s`, stop after the batch that overruns it (result.complete is then False)."""
    started = time.monotonic()
    result = PruneResult(cutoff_for(days, now))
    after = 0
    with engine.connect() as conn:
        while True:
            # The next `batch` old rows by primary key, found outside any write transaction.
            window = (
                sa.select(sync_log.c.log_id)
                .where(sync_log.c.log_id > after, sync_log.c.synced_at < result.cutoff)
                .order_by(sync_log.c.log_id)
                .limit(batch)
                .subquery()
            )
            upto = conn.execute(sa.select(sa.func.max(window.c.log_id))).scalar()
            conn.rollback()
            if upto is None:
                break
            with conn.begin():
                deleted = conn.execute(
                    sa.delete(sync_log).where(
                        sync_log.c.log_id > after,
                        sync_log.c.log_id <= upto,
                        _old_log_rows(result.cutoff),
                    )
                )
            result.log_rows += deleted.rowcount
            result.batches += 1
            after = upto
            if budget_s is not None and time.monotonic() - started >= budget_s:
                result.complete = False
                break
        if result.complete:
            result.runs = _prune_runs(conn, result, batch)
    result.seconds = time.monotonic() - started
    return result


def _prune_runs(conn: sa.Connection, result: PruneResult, batch: int) -> int:
    deleted = 0
    after = 0
    old = _old_runs(result.cutoff)
    conn.rollback()
    while True:
        ids = (
            conn.execute(
                sa.select(sync_run.c.run_id)
                .where(sync_run.c.run_id > after, old)
                .order_by(sync_run.c.run_id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        conn.rollback()
        if not ids:
            return deleted
        with conn.begin():
            deleted += conn.execute(
                sa.delete(sync_run).where(
                    sync_run.c.run_id >= ids[0],
                    sync_run.c.run_id <= ids[-1],
                    old,
                )
            ).rowcount
        result.batches += 1
        after = ids[-1]


# After a run, a prune gets this long; a backlog (the first prune of a year of log) is worked
# off over the following runs rather than holding up this process's exit.
AFTER_RUN_BUDGET_S = 60.0
_pruning = threading.Lock()


def prune_after_run(engine: sa.Engine, days: int, budget_s: float = AFTER_RUN_BUDGET_S) -> None:
    """The prune that follows each run. Logged, never raised: it cannot change the run's
    outcome. Skipped when another prune of this process is still going."""
    if not _pruning.acquire(blocking=False):
        return
    try:
        result = prune(engine, days, budget_s=budget_s)
    except sa.exc.SQLAlchemyError as exc:
        log.error("pruning the sync log failed: %s", db_reason(exc))
        return
    finally:
        _pruning.release()
    if result.log_rows or result.runs or not result.complete:
        log.info(
            "pruned %d log rows and %d runs older than %d days in %.1f s%s",
            result.log_rows,
            result.runs,
            days,
            result.seconds,
            "" if result.complete else " (time budget reached; the next run goes on)",
        )
