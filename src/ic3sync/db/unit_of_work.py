"""The unit of work of a sync run on SQL: the run lock, the run row, the assets read a page at a
time, one transaction per asset, and the database errors turned into ours. A connection lost
mid-run is ridden out here, once, for every write: reconnect for up to db_retry_s, then go on
where the run was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self, TypeVar

import sqlalchemy as sa

from ic3sync.db import changes, writes
from ic3sync.db import runs as run_rows
from ic3sync.db.engine import WRITE_LOCK_AT_BEGIN
from ic3sync.db.errors import (
    connection_lost,
    db_reason,
    locked_message,
    map_db_errors,
    sqlite_locked,
)
from ic3sync.db.lock import RunLock
from ic3sync.db.selection import AssetPages, count_assets, find_asset
from ic3sync.errors import (
    LOCK_LOST,
    AssetNotFound,
    AssetNotStored,
    Cancelled,
    DatabaseError,
    ErrorKind,
    RunInProgress,
)
from ic3sync.model import AssetOutcome, AssetRef, AssetRows, AssetSelection, SyncResult

log = logging.getLogger("ic3sync.sync")

# How often the run row's counters are refreshed for watchers (the CLI of another shell, the
# admin service).
HEARTBEAT_S = 1.0
# Connection losses one asset may suffer before it is logged failed and the run moves on: an
# asset whose rows crash the backend every time must not hold the run up for ever.
LOSSES_PER_ASSET = 3

T = TypeVar("T")


def _now() -> datetime:
    return datetime.now(UTC)


class SqlRunStore:
    """`with SqlRunStore(engine, ...) as store:` the ports.RunStore of one run. Every method
    raises ours only: DatabaseError, AssetNotStored, RunInProgress, AssetNotFound, Cancelled."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        cancel: threading.Event,
        db_retry_s: float,
        detect_changes: bool = True,
    ) -> None:
        self.engine = engine
        self.cancel = cancel
        self.db_retry_s = db_retry_s
        self.detect_changes = detect_changes
        self.lock = RunLock(engine)
        self.run_id = 0
        self.database_gone = False
        self._stack = contextlib.ExitStack()
        self._conn: sa.Connection | None = None
        self._pages: AssetPages | None = None
        self._last_heartbeat = 0.0
        self._references = writes.WrittenReferences()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    @property
    def conn(self) -> sa.Connection:
        assert self._conn is not None, "start() first"
        return self._conn

    # -- start ---------------------------------------------------------------------------

    def start(self, trigger: str, selection: AssetSelection) -> tuple[int | None, int, list[int]]:
        with map_db_errors():
            self._stack.callback(self.lock.release)
            if not self.lock.acquire():
                with self.engine.connect() as conn:
                    raise RunInProgress(run_rows.running_run_id(conn))
            # This connection writes the run: on SQLite its transactions take the write lock as
            # they begin, so an asset's stored values cannot change between read and write.
            conn = self._stack.enter_context(self.engine.connect())
            conn.execution_options(**{WRITE_LOCK_AT_BEGIN: True})
            self._conn = conn
            with conn.begin():
                dead = run_rows.mark_dead_runs_interrupted(conn, _now())
                if selection.cmms_asset_id is not None and (
                    find_asset(conn, selection.cmms_asset_id) is None
                ):
                    raise AssetNotFound(selection.cmms_asset_id)
                total = count_assets(conn, selection)
                if not total:
                    return None, 0, dead
                self.run_id = run_rows.create_run(
                    conn,
                    trigger=trigger,
                    sel=selection,
                    now=_now(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                )
                run_rows.update_run(conn, self.run_id, total=total)
        self._pages = AssetPages(lambda: self.conn, self.retrying_reads, selection, total)
        return self.run_id, total, dead

    def assets(self) -> Iterator[AssetRef]:
        assert self._pages is not None, "start() first"
        return iter(self._pages)

    # -- one asset -----------------------------------------------------------------------

    def write_synced(self, asset: AssetRef, rows: AssetRows, outcome: AssetOutcome) -> None:
        def write() -> None:
            conn = self.conn
            with conn.begin():
                found: list[changes.Change] = []
                if self.detect_changes:
                    found = changes.diff(changes.read_stored(conn, asset.asset_id), rows)
                now = _now()
                upserted = writes.write_asset(
                    conn,
                    asset.asset_id,
                    rows,
                    now,
                    written=self._references,
                    changed={change.table_name for change in found},
                )
                changes.record(
                    conn,
                    asset_id=asset.asset_id,
                    cmms_asset_id=asset.cmms_asset_id,
                    run_id=self.run_id,
                    changes=found,
                    now=now,
                )
                writes.insert_logs(conn, [self._log_row(asset, outcome, now)])
            self._references.remember(upserted)

        self._through_outages(asset, write)

    def write_failed(self, asset: AssetRef, outcome: AssetOutcome) -> None:
        def write() -> None:
            with self.conn.begin():
                writes.insert_logs(self.conn, [self._log_row(asset, outcome, _now())])

        try:
            self._through_outages(asset, write)
        except AssetNotStored as exc:
            raise DatabaseError(
                f"could not log asset {asset.cmms_asset_id!r}: {exc.reason}"
            ) from None

    def _log_row(self, asset: AssetRef, outcome: AssetOutcome, now: datetime) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "customer_id": asset.customer_id,
            "cmms_asset_id": asset.cmms_asset_id,
            "status": outcome.status,
            "error_message": outcome.error,
            "error_kind": outcome.error_kind,
            "http_status": outcome.http_status,
            "attempts": outcome.attempts,
            "synced_at": now,
            "duration_ms": outcome.duration_ms,
        }

    def _through_outages(self, asset: AssetRef, write: Callable[[], None]) -> None:
        """Run `write` (one transaction), riding out lost connections: reconnect, then stop if
        the asset's log row shows the commit reached the database (only its answer was lost),
        else write again. AssetNotStored when the database refuses the rows or the connection
        is lost LOSSES_PER_ASSET times; DatabaseError when the database stays away."""
        losses = 0
        reason = ""
        while True:
            try:
                if losses and self._logged(asset):
                    return
                if losses >= LOSSES_PER_ASSET:
                    raise AssetNotStored(
                        f"database connection lost {losses} times while writing this asset: "
                        f"{reason}"
                    )
                write()
                return
            except sa.exc.SQLAlchemyError as exc:
                # Whatever was rolled back, or cut off before its commit was known, is
                # written again by the next asset that names it.
                self._references.forget()
                if not connection_lost(exc):
                    raise AssetNotStored(
                        f"database rejected the asset's rows: {db_reason(exc)}"
                    ) from None
                if sqlite_locked(exc):
                    raise DatabaseError(locked_message(exc)) from None
                losses += 1
                reason = db_reason(exc)
            self.reconnect(reason)

    def _logged(self, asset: AssetRef) -> bool:
        """Whether this run's log holds the asset: its transaction committed."""
        with self.conn.begin():
            found = run_rows.logged_outcome(self.conn, self.run_id, asset.cmms_asset_id)
        return found is not None

    # -- watchers ------------------------------------------------------------------------

    def cancel_requested(self) -> bool:
        try:
            with self.conn.begin():
                return run_rows.cancel_requested(self.conn, self.run_id)
        except sa.exc.SQLAlchemyError:
            return False  # the database is away: the asset's own writes notice and reconnect

    def lock_held(self) -> bool:
        try:
            return self.lock.ensure()
        except sa.exc.DBAPIError:
            return True  # the database is away: the asset's own writes notice and reconnect

    def progress(self, result: SyncResult, current: str | None) -> None:
        now = time.monotonic()
        if now - self._last_heartbeat < HEARTBEAT_S:
            return
        self._last_heartbeat = now
        values = {
            "success": result.success,
            "failed": result.failed,
            "skipped": result.skipped,
            "current_asset": current,
            "heartbeat_at": _now(),
        }
        try:
            with self.conn.begin():
                writes.heartbeat(self.conn, self.run_id, values)
        except sa.exc.SQLAlchemyError:
            pass  # the database is away: the next asset's writes notice and reconnect

    # -- finish --------------------------------------------------------------------------

    def finish(self, result: SyncResult) -> None:
        assert self._pages is not None
        reason = {
            "cancelled": "run cancelled before this asset",
            "aborted": f"run aborted before this asset: {result.error}",
        }.get(result.status)
        done = result.done
        # The asset a stop came at was handed out but is not done.
        untaken = self._pages.handed - done
        # A run that already waited db_retry_s in vain does not wait a second time here.
        may_reconnect = not self.database_gone
        while True:
            now = _now()
            rest = 0
            try:
                with self.conn.begin():
                    if reason:
                        kind: ErrorKind = "cancelled" if result.status == "cancelled" else "aborted"
                        for page in self._pages.rest(untaken):
                            skipped = [
                                self._log_row(a, _skipped(a, reason, kind), now) for a in page
                            ]
                            writes.insert_logs(self.conn, skipped)
                            rest += len(skipped)
                    run_rows.update_run(
                        self.conn,
                        self.run_id,
                        status=result.status,
                        success=result.success,
                        failed=result.failed,
                        skipped=result.skipped + rest,
                        current_asset=None,
                        finished_at=now,
                        heartbeat_at=now,
                        duration_ms=result.duration_ms,
                        error=result.error,
                    )
                result.skipped += rest
                return
            except sa.exc.SQLAlchemyError as exc:
                if may_reconnect and connection_lost(exc) and not sqlite_locked(exc):
                    may_reconnect = False
                    try:
                        self.reconnect(db_reason(exc))
                        continue
                    except (DatabaseError, Cancelled):
                        pass
                # The database went away for good: the next run marks this one interrupted.
                result.status = "aborted"
                result.error = result.error or f"database unreachable: {db_reason(exc)}"
                result.skipped += result.total - done if reason else 0
                log.error("could not record the end of run %s: %s", self.run_id, db_reason(exc))
                return

    # -- outages -------------------------------------------------------------------------

    def reconnect(self, reason: str) -> None:
        """Wait up to db_retry_s for the database to answer again on this run's connection, and
        for this run to hold the run lock again. DatabaseError when it does not."""
        conn, run_id = self.conn, self.run_id
        log.warning(
            "run %s: database connection lost (%s); reconnecting for up to %g s",
            run_id,
            reason,
            self.db_retry_s,
            extra={"run_id": run_id},
        )
        deadline = time.monotonic() + self.db_retry_s
        delay = 0.2
        while True:
            # The pool may hand back the dead connection's siblings: drop this one for sure,
            # pre-ping weeds out the others.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                conn.invalidate()
            try:
                conn.rollback()
                conn.execute(sa.text("SELECT 1"))
                conn.rollback()
                if not self.lock.ensure():
                    raise DatabaseError(LOCK_LOST)
                log.warning("run %s: database back, run goes on", run_id, extra={"run_id": run_id})
                return
            except sa.exc.DBAPIError as exc:
                reason = db_reason(exc)
            if time.monotonic() + delay > deadline:
                self.database_gone = True
                raise DatabaseError(
                    f"database unreachable for {self.db_retry_s:g} s, run aborted: {reason}"
                )
            if self.cancel.wait(delay):
                raise Cancelled("stopped while waiting for the database")
            delay = min(delay * 2, 5.0)

    def retrying_reads(self, read: Callable[[], T]) -> T:
        """`read` in a transaction of its own, reconnecting while the connection is lost."""
        while True:
            try:
                with self.conn.begin():
                    return read()
            except sa.exc.SQLAlchemyError as exc:
                if sqlite_locked(exc):
                    raise DatabaseError(locked_message(exc)) from None
                if not connection_lost(exc):
                    raise DatabaseError(f"cannot read the run's assets: {db_reason(exc)}") from None
                self.reconnect(db_reason(exc))


def _skipped(asset: AssetRef, reason: str, kind: ErrorKind) -> AssetOutcome:
    return AssetOutcome(asset.cmms_asset_id, "skipped", reason, error_kind=kind)
