"""A sync run: take the run lock, load the assets, then for each one fetch, map and write in
one transaction, log it, and finish with a summary. One asset at a time (contract rule 1).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from typing import Any, Protocol, TypedDict

import sqlalchemy as sa

from ic3sync import mapping
from ic3sync.config import Settings
from ic3sync.db import changes, writes
from ic3sync.db import runs as run_rows
from ic3sync.db import selection as queries
from ic3sync.db.errors import (
    connection_lost,
    db_reason,
    locked_message,
    map_db_errors,
    sqlite_locked,
)
from ic3sync.db.lock import RunLock
from ic3sync.errors import (
    AssetNotFound,
    AssetSyncFailed,
    Cancelled,
    DatabaseError,
    ErrorKind,
    NoAssetMatches,
    RunInProgress,
    VendorAuthError,
    VendorError,
)
from ic3sync.innomaint.client import Fetched
from ic3sync.logs import current_asset, current_run_id
from ic3sync.model import (
    MAX_RESULT_ERRORS,
    AssetOutcome,
    AssetRef,
    AssetSelection,
    Observers,
    RunObserver,
    SyncResult,
    clean_asset_id,
)

log = logging.getLogger("ic3sync.sync")

# How often the run row's counters are refreshed for watchers (the CLI of another shell,
# the admin service). Every asset would cost one more statement per asset for nothing.
HEARTBEAT_S = 1.0
# How long a run waits for a database that went away (a restart, a failover, a network cut)
# before it gives up and ends `aborted`, unless IC3_DB_RETRY_S says otherwise.
DB_RETRY_S = 30.0
# Connection losses one asset may suffer before it is logged failed and the run moves on: an
# asset whose rows crash the backend every time must not hold the run up for ever.
LOSSES_PER_ASSET = 3
# How many assets a run reads at a time (and, on PostgreSQL, the stored values of): its memory
# stays flat however large the register.
PAGE_SIZE = 1000
# How often a run makes sure it still holds its PostgreSQL lock. The lock's connection sits idle
# for the whole run, and an idle connection is what an idle_session_timeout, a firewall or an
# operator's pg_terminate_backend ends first; with it the lock would go, unnoticed.
LOCK_CHECK_S = 5.0
# How often a run reads its row for a cancel request from another process (the dashboard of
# another server, the API while the CLI runs). Between assets, never during one.
CANCEL_CHECK_S = 1.0


class RunOptions(TypedDict):
    """What of the settings a run uses beyond its engine and client (run_sync's keywords)."""

    db_retry_s: float
    vendor_zone: tzinfo


def run_options(settings: Settings) -> RunOptions:
    return RunOptions(db_retry_s=settings.db_retry_s, vendor_zone=settings.vendor_zone)


class Fetcher(Protocol):
    # Printable INNOMAINT_API_URL, and how many assets in a row may fail because the vendor
    # cannot be reached before the run gives up (rule 9).
    @property
    def public_url(self) -> str: ...
    @property
    def max_consecutive_failures(self) -> int: ...

    def fetch(self, serialnumber: str) -> Fetched: ...


def _now() -> datetime:
    return datetime.now(UTC)


class _Run:
    """The state of one run while it goes."""

    def __init__(
        self,
        engine: sa.Engine,
        client: Fetcher,
        cancel: threading.Event,
        observer: RunObserver,
        lock: RunLock | None = None,
        db_retry_s: float = DB_RETRY_S,
        detect_changes: bool = True,
        vendor_zone: tzinfo = mapping.DEFAULT_VENDOR_ZONE,
    ) -> None:
        self.engine = engine
        self.detect_changes = detect_changes
        self.client = client
        self.cancel = cancel
        self.observer = observer
        self.lock = lock
        self.db_retry_s = db_retry_s
        self.vendor_zone = vendor_zone
        self.database_gone = False
        self.lock_checked = time.monotonic()
        self.cancel_checked = 0.0
        self.result = SyncResult(run_id=0)
        self.last_heartbeat = 0.0
        # Assets in a row that failed because the vendor could not be reached, and the last
        # reason: enough of them and the run stops instead of failing the rest one by one.
        self.unreachable_streak = 0
        self.unreachable_reason = ""

    def vendor_dead(self) -> str | None:
        """The run's abort message once the vendor failed too many assets in a row."""
        limit = self.client.max_consecutive_failures
        if self.unreachable_streak < limit:
            return None
        return (
            f"Innomaint at {self.client.public_url} (INNOMAINT_API_URL) could not be reached "
            f"for {self.unreachable_streak} assets in a row; last reason: {self.unreachable_reason}"
        )

    def count(self, outcome: AssetOutcome) -> None:
        r = self.result
        if outcome.status == "success":
            r.success += 1
        elif outcome.status == "failed":
            r.failed += 1
            if len(r.errors) < MAX_RESULT_ERRORS:
                r.errors.append(f"{outcome.cmms_asset_id}: {outcome.error}")
        else:
            r.skipped += 1
        r.http_ms += outcome.http_ms

    def heartbeat_values(self, current: str | None) -> dict[str, Any] | None:
        """The run row's counters, at most every HEARTBEAT_S."""
        now = time.monotonic()
        if now - self.last_heartbeat < HEARTBEAT_S:
            return None
        self.last_heartbeat = now
        r = self.result
        return {
            "success": r.success,
            "failed": r.failed,
            "skipped": r.skipped,
            "current_asset": current,
            "heartbeat_at": _now(),
        }

    def fetch_and_write(
        self, conn: sa.Connection, asset: AssetRef, snapshot: changes.Snapshot | None
    ) -> AssetOutcome:
        started = time.monotonic()
        outcome = AssetOutcome(cmms_asset_id=asset.cmms_asset_id, status="failed")
        try:
            fetched = self.client.fetch(asset.cmms_asset_id)
        except VendorAuthError:
            raise
        except VendorError as exc:
            return self.vendor_failed(conn, asset, outcome, exc, started)
        outcome.http_status = fetched.http_status
        outcome.attempts = fetched.attempts
        outcome.http_ms = fetched.http_ms
        rows: mapping.AssetRows | None = None
        try:
            for tries_left in (2, 1, 0):
                try:
                    rows = self.write_synced(conn, asset, snapshot, fetched, rows, outcome, started)
                    break
                except sa.exc.SQLAlchemyError as exc:
                    if tries_left and changes.stale(exc):
                        # Its stored values changed since its page was read (an import, say):
                        # again, with them read inside the transaction.
                        snapshot = None
                    elif not (tries_left and writes.unprepared(exc)):
                        raise
                    # Or the session lost the write path's prepared statements (psycopg's
                    # DEALLOCATE ALL after a rollback of its own): again, prepared afresh.
        except VendorError as exc:
            # The answer did not map (another asset's, say): its transaction rolled back.
            return self.vendor_failed(conn, asset, outcome, exc, started)
        except sa.exc.SQLAlchemyError as exc:
            if connection_lost(exc):
                raise  # the loop reconnects and finds out whether this asset committed
            outcome.status = "failed"
            outcome.error = f"database rejected the asset's rows: {db_reason(exc)}"
            outcome.error_kind = "database"
            outcome.duration_ms = _ms_since(started)
            self.write_log(conn, asset, outcome)
        return outcome

    def vendor_failed(
        self,
        conn: sa.Connection,
        asset: AssetRef,
        outcome: AssetOutcome,
        exc: VendorError,
        started: float,
    ) -> AssetOutcome:
        """Log the asset failed for what the vendor did: no answer, or one that did not map."""
        outcome.error = exc.reason
        outcome.error_kind = exc.kind
        if exc.unreachable:
            self.unreachable_streak += 1
            self.unreachable_reason = exc.reason
        else:
            self.unreachable_streak = 0
        if outcome.attempts == 0:
            # A fetch error carries its own status; a mismatch found in a fetched answer
            # keeps the fetch's status (200) and attempts.
            outcome.http_status = exc.http_status
            outcome.attempts = exc.attempts
        outcome.duration_ms = _ms_since(started)
        self.write_log(conn, asset, outcome)
        return outcome

    def mapped(self, asset: AssetRef, fetched: Fetched, outcome: AssetOutcome) -> mapping.AssetRows:
        """The rows of the asset's answer (VendorError when it is not about this asset); the
        outcome says success, with what the mapping had to say."""
        rows = mapping.rows_from_response(
            asset.cmms_asset_id, fetched.response, vendor_zone=self.vendor_zone
        )
        self.unreachable_streak = 0
        outcome.status = "success"
        outcome.traceability_id = rows.traceability_id
        said = ["stored as NULL: " + "; ".join(rows.problems)] if rows.problems else []
        if said or rows.notes:
            outcome.error = "; ".join([*said, *rows.notes])
        return rows

    def write_synced(
        self,
        conn: sa.Connection,
        asset: AssetRef,
        snapshot: changes.Snapshot | None,
        fetched: Fetched,
        rows: mapping.AssetRows | None,
        outcome: AssetOutcome,
        started: float,
    ) -> mapping.AssetRows:
        """The asset's rows, its changes and its log row in one transaction: on PostgreSQL one
        round trip with a snapshot of its stored values read ahead, two without one. The
        answer is mapped unless `rows` already holds it; returns the rows."""
        guarded = self.detect_changes and snapshot is not None
        if rows is None and not guarded:
            rows = self.mapped(asset, fetched, outcome)
        with writes.transaction(conn):
            if guarded:
                assert snapshot is not None
                changes.expect_unchanged(conn, asset.asset_id, snapshot)
                # Sent now: PostgreSQL checks and locks the row while the answer is mapped.
                writes.send_now(conn)
            if rows is None:
                rows = self.mapped(asset, fetched, outcome)
            found: list[changes.Change] = []
            if self.detect_changes:
                stored = (
                    snapshot.stored
                    if snapshot is not None
                    else changes.read_stored(conn, asset.asset_id)
                )
                found = changes.diff(stored, rows)
            now = _now()
            writes.write_asset(conn, asset.asset_id, rows, now)
            changes.record(
                conn,
                asset_id=asset.asset_id,
                cmms_asset_id=asset.cmms_asset_id,
                run_id=self.result.run_id,
                changes=found,
                now=now,
            )
            outcome.duration_ms = _ms_since(started)
            writes.insert_logs(conn, [self.log_row(asset, outcome, now)])
            beat = self.heartbeat_values(asset.cmms_asset_id)
            if beat is not None:
                # Counted as if this asset had committed, which it does with this row.
                beat["success"] += 1
                writes.heartbeat(conn, self.result.run_id, beat)
        return rows

    def log_row(self, asset: AssetRef, outcome: AssetOutcome, now: datetime) -> dict[str, Any]:
        return {
            "run_id": self.result.run_id,
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

    def write_log(self, conn: sa.Connection, asset: AssetRef, outcome: AssetOutcome) -> None:
        for tries_left in (1, 0):
            try:
                with writes.transaction(conn):
                    writes.insert_logs(conn, [self.log_row(asset, outcome, _now())])
                return
            except sa.exc.SQLAlchemyError as exc:
                # The session lost the write path's prepared statements (as write_synced
                # knows): once more, prepared afresh.
                if not (tries_left and writes.unprepared(exc)):
                    raise

    def fetch_and_write_through_outages(
        self, conn: sa.Connection, asset: AssetRef, snapshot: changes.Snapshot | None
    ) -> AssetOutcome:
        """fetch_and_write, riding out a lost database connection: reconnect, then keep the asset's
        outcome if it committed before the loss, else sync it again. DatabaseError when the
        database stays away or a SQLite file stays locked."""
        losses = 0
        while True:
            try:
                return self.fetch_and_write(conn, asset, snapshot)
            except sa.exc.DBAPIError as exc:
                if not connection_lost(exc):
                    raise
                if sqlite_locked(exc):
                    raise DatabaseError(locked_message(exc)) from None
                losses += 1
                reason = db_reason(exc)
            self.reconnect(conn, reason)
            logged = run_rows.logged_outcome(conn, self.result.run_id, asset.cmms_asset_id)
            conn.rollback()
            if logged is not None:
                # The commit reached the database; only its answer was lost.
                return AssetOutcome(asset.cmms_asset_id, **logged)
            if losses >= LOSSES_PER_ASSET:
                outcome = AssetOutcome(
                    asset.cmms_asset_id,
                    "failed",
                    f"database connection lost {losses} times while writing this asset: {reason}",
                    error_kind="database",
                )
                self.write_log(conn, asset, outcome)
                return outcome

    def cancel_requested(self, conn: sa.Connection) -> bool:
        """Whether this run was asked to stop: here (Ctrl-C, SIGTERM, the manager) or, read
        from the run's row at most every CANCEL_CHECK_S, by any other process."""
        if self.cancel.is_set():
            return True
        if time.monotonic() - self.cancel_checked < CANCEL_CHECK_S:
            return False
        self.cancel_checked = time.monotonic()
        try:
            with conn.begin():
                requested = run_rows.cancel_requested(conn, self.result.run_id)
        except sa.exc.SQLAlchemyError:
            return False  # the database is away: the asset's own writes notice and reconnect
        if requested:
            log.warning(
                "run %s: cancel requested from another process; stopping",
                self.result.run_id,
                extra={"run_id": self.result.run_id},
            )
            self.cancel.set()
        return requested

    def check_lock(self) -> None:
        """At most every LOCK_CHECK_S: DatabaseError if the run lock was lost to another run."""
        if self.lock is None or time.monotonic() - self.lock_checked < LOCK_CHECK_S:
            return
        self.lock_checked = time.monotonic()
        try:
            held = self.lock.ensure()
        except sa.exc.DBAPIError:
            return  # the database is away: the asset's own writes notice and reconnect
        if not held:
            raise DatabaseError(_LOCK_LOST)

    def reconnect(self, conn: sa.Connection, reason: str) -> None:
        """Wait up to db_retry_s for the database to answer again on `conn`, and for this run
        to hold the run lock again. DatabaseError when it does not."""
        run_id = self.result.run_id
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
                if self.lock is not None and not self.lock.ensure():
                    raise DatabaseError(_LOCK_LOST)
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


_LOCK_LOST = (
    "the run lock was lost with its database connection and another run has taken it; "
    "this run stops so that two runs never write at once"
)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def run_sync(
    engine: sa.Engine,
    client: Fetcher,
    *,
    trigger: str,
    selection: AssetSelection | None = None,
    cancel: threading.Event | None = None,
    observer: RunObserver | None = None,
    db_retry_s: float = DB_RETRY_S,
    detect_changes: bool = True,
    vendor_zone: tzinfo = mapping.DEFAULT_VENDOR_ZONE,
) -> SyncResult:
    """One sequential run. Raises RunInProgress when another run holds the lock, AssetNotFound
    for a single-asset run of an unknown id, NoAssetMatches when the selection is empty (no
    run row is written), DatabaseError when the database is unreachable at the start.
    Everything else about the run, including its failures and a database that went away for
    longer than `db_retry_s` mid-run, is in the returned SyncResult.
    `detect_changes=False` skips the field-level history (ic3_asset_change), for measuring
    what it costs."""
    sel = selection or AssetSelection()
    cancel = cancel or threading.Event()
    t0 = time.monotonic()
    lock = RunLock(engine)
    state = _Run(
        engine,
        client,
        cancel,
        observer or Observers(),
        lock,
        db_retry_s,
        detect_changes=detect_changes,
        vendor_zone=vendor_zone,
    )
    with map_db_errors(), contextlib.ExitStack() as release:
        release.callback(lock.release)
        if not lock.acquire():
            with engine.connect() as conn:
                raise RunInProgress(run_rows.running_run_id(conn))
        with engine.connect() as conn:
            with conn.begin():
                dead = run_rows.mark_dead_runs_interrupted(conn, _now())
                if dead:
                    log.warning("marked run(s) %s interrupted: their process had died", dead)
                if (
                    sel.cmms_asset_id is not None
                    and queries.find_asset(conn, sel.cmms_asset_id) is None
                ):
                    raise AssetNotFound(sel.cmms_asset_id)
                total = queries.count_assets(conn, sel)
                if total:
                    run_id = run_rows.create_run(
                        conn,
                        trigger=trigger,
                        sel=sel,
                        now=_now(),
                        host=socket.gethostname(),
                        pid=os.getpid(),
                    )
                    run_rows.update_run(conn, run_id, total=total)
            if dead:
                state.observer.runs_interrupted(dead)
            if not total:
                raise NoAssetMatches(sel.describe())
            state.result.run_id = run_id
            state.result.total = total
            # Every log line of this run, from any layer, names it (the text and JSON formats).
            release.callback(current_run_id.reset, current_run_id.set(run_id))
            log.info("run %s started: %d assets", run_id, total, extra={"run_id": run_id})
            state.observer.run_started(run_id, total)
            # Stored values are read a page ahead where that saves a round trip per asset.
            ahead = detect_changes and engine.dialect.name == "postgresql"
            assets = _Assets(state, conn, sel, total, snapshots=ahead)
            try:
                _loop(conn, state, assets)
            except Exception as exc:
                # A fault of this code, not of the vendor or the database: the run row still
                # ends (aborted, the assets not reached logged skipped) instead of staying
                # `running`, and the error goes on to the caller.
                state.result.status = "aborted"
                state.result.error = f"internal error: {type(exc).__name__}: {exc}"
                state.result.duration_ms = _ms_since(t0)
                with contextlib.suppress(Exception):
                    conn.rollback()
                    _finish(conn, state, assets)
                raise
            state.result.duration_ms = _ms_since(t0)
            _finish(conn, state, assets)
    state.observer.run_finished(state.result)
    return state.result


class _Assets:
    """The run's assets in run order, read PAGE_SIZE at a time by key, so a run's memory does
    not grow with the register; with `snapshots`, each page's stored values too (PostgreSQL's
    change detection in one round trip per asset). At most `total` assets, the count the run
    started with."""

    def __init__(
        self, state: _Run, conn: sa.Connection, sel: AssetSelection, total: int, *, snapshots: bool
    ) -> None:
        self.state = state
        self.conn = conn
        self.sel = sel
        self.left = total
        self.snapshots = snapshots
        self.after: queries.AssetKey | None = None
        self.exhausted = False
        self.page: list[AssetRef] = []
        self.taken = 0  # of self.page, handed out
        self.handed_before = 0  # in the pages before self.page
        self.ahead: dict[int, changes.Snapshot] = {}

    def __iter__(self) -> Iterator[tuple[AssetRef, changes.Snapshot | None]]:
        while True:
            if self.taken == len(self.page):
                self.page = self._next_page()
                self.taken = 0
                if not self.page:
                    return
            asset = self.page[self.taken]
            self.taken += 1
            yield asset, self.ahead.pop(asset.asset_id, None)

    def rest(self, untaken: int) -> Iterator[list[AssetRef]]:
        """The assets the run did not reach, a page at a time: the last `untaken` handed out
        (the asset a stop came at), the rest of the page, then the pages not read yet. Reads in
        the caller's transaction, and leaves the iteration where it was (it can be retried)."""
        if first := self.page[self.taken - untaken :]:
            yield first
        after, left, exhausted = self.after, self.left, self.exhausted
        while not exhausted and left > 0:
            page, after, exhausted = self._read(after, min(PAGE_SIZE, left), snapshots=False)
            left -= len(page)
            if page:
                yield page

    def _next_page(self) -> list[AssetRef]:
        if self.exhausted or self.left <= 0:
            return []
        limit = min(PAGE_SIZE, self.left)
        while True:
            try:
                with self.conn.begin():
                    page, self.after, self.exhausted = self._read(
                        self.after, limit, snapshots=self.snapshots
                    )
                break
            except sa.exc.DBAPIError as exc:
                if not connection_lost(exc) or sqlite_locked(exc):
                    raise
                self.state.reconnect(self.conn, db_reason(exc))
        self.left -= len(page)
        self.handed_before += len(self.page)
        return page

    def _read(
        self, after: queries.AssetKey | None, limit: int, *, snapshots: bool
    ) -> tuple[list[AssetRef], queries.AssetKey | None, bool]:
        """(the page after `after`, the key to read the next one after, whether it was the last)."""
        keyed = queries.select_assets(self.conn, self.sel, after=after, limit=limit)
        page = [asset for asset, _ in keyed]
        if snapshots:
            self.ahead = changes.read_snapshots(self.conn, [a.asset_id for a in page])
        return page, (keyed[-1][1] if keyed else after), len(keyed) < limit

    @property
    def handed(self) -> int:
        """How many assets the run has been handed so far."""
        return self.handed_before + self.taken


def _loop(conn: sa.Connection, state: _Run, assets: _Assets) -> None:
    result = state.result
    try:
        _each_asset(conn, state, assets)
    except Cancelled:
        result.status = "cancelled"
    except DatabaseError as exc:
        result.status = "aborted"
        result.error = str(exc)


def _each_asset(conn: sa.Connection, state: _Run, assets: _Assets) -> None:
    result = state.result
    for index, (asset, snapshot) in enumerate(assets):
        if state.cancel_requested(conn):
            result.status = "cancelled"
            return
        state.observer.asset_started(index, asset)
        in_flight = current_asset.set(asset.cmms_asset_id)
        try:
            state.check_lock()
            outcome = state.fetch_and_write_through_outages(conn, asset, snapshot)
        except VendorAuthError as exc:
            outcome = AssetOutcome(
                cmms_asset_id=asset.cmms_asset_id,
                status="failed",
                error=exc.reason,
                http_status=exc.http_status,
                attempts=exc.attempts,
                error_kind=exc.kind,
            )
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                # If this fails too, _finish logs the asset as skipped with the same reason.
                state.write_log(conn, asset, outcome)
                state.count(outcome)
            result.status = "aborted"
            result.error = exc.reason
            return
        finally:
            current_asset.reset(in_flight)
        if outcome.status == "failed":
            # The CLI's and the service's logs alike: one WARNING per failed asset, with its id.
            log.warning(
                "asset failed: %s",
                outcome.error,
                extra={"run_id": result.run_id, "cmms_asset_id": asset.cmms_asset_id},
            )
        state.count(outcome)
        state.observer.asset_done(index, outcome)
        if (dead := state.vendor_dead()) is not None:
            log.error("run %s aborted: %s", result.run_id, dead, extra={"run_id": result.run_id})
            result.status = "aborted"
            result.error = dead
            return
    result.status = "completed"


def _skipped(asset: AssetRef, reason: str, run_status: str) -> AssetOutcome:
    kind: ErrorKind = "cancelled" if run_status == "cancelled" else "aborted"
    return AssetOutcome(asset.cmms_asset_id, "skipped", reason, error_kind=kind)


def _finish(conn: sa.Connection, state: _Run, assets: _Assets) -> None:
    """Log the assets a stopped run never reached as skipped, and close the run row."""
    result = state.result
    done = result.success + result.failed + result.skipped
    reason = {
        "cancelled": "run cancelled before this asset",
        "aborted": f"run aborted before this asset: {result.error}",
    }.get(result.status)
    # The asset a stop came at was handed out but is not done.
    untaken = assets.handed - done
    # A run that already waited db_retry_s in vain does not wait a second time here.
    may_reconnect = not state.database_gone
    while True:
        now = _now()
        rest = 0
        try:
            with conn.begin():
                if reason:
                    for page in assets.rest(untaken):
                        rows = [
                            state.log_row(a, _skipped(a, reason, result.status), now) for a in page
                        ]
                        writes.insert_logs(conn, rows)
                        rest += len(rows)
                run_rows.update_run(
                    conn,
                    result.run_id,
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
            break
        except sa.exc.SQLAlchemyError as exc:
            if may_reconnect and connection_lost(exc) and not sqlite_locked(exc):
                may_reconnect = False
                try:
                    state.reconnect(conn, db_reason(exc))
                    continue
                except (DatabaseError, Cancelled):
                    pass
            # The database went away for good: the next run marks this one interrupted.
            result.status = "aborted"
            result.error = result.error or f"database unreachable: {db_reason(exc)}"
            result.skipped += result.total - done if reason else 0
            log.error("could not record the end of run %s: %s", result.run_id, db_reason(exc))
            break
    log.info(
        "run %s %s: %d ok, %d failed, %d skipped in %d ms",
        result.run_id,
        result.status,
        result.success,
        result.failed,
        result.skipped,
        result.duration_ms,
        extra={"run_id": result.run_id},
    )


class _Outcomes(RunObserver):
    def __init__(self) -> None:
        self.outcomes: list[AssetOutcome] = []

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        self.outcomes.append(outcome)


def one_asset(cmms_asset_id: str) -> AssetSelection:
    """The selection of a run of one asset, its id trimmed as the register keeps ids."""
    return AssetSelection(cmms_asset_id=clean_asset_id(cmms_asset_id))


def asset_synced(
    selection: AssetSelection, result: SyncResult, outcomes: list[AssetOutcome]
) -> tuple[int, AssetOutcome]:
    """What a run of one asset came to: (run_id, the asset's successful outcome), or
    AssetSyncFailed with the asset's reason, or the run's when it stopped before the asset."""
    assert selection.cmms_asset_id is not None
    outcome = outcomes[0] if outcomes else None
    if outcome is not None and outcome.status == "success":
        return result.run_id, outcome
    if outcome is not None:
        reason = outcome.error or "failed"
    else:
        reason = result.error or f"the run ended {result.status} before the asset"
    raise AssetSyncFailed(
        selection.cmms_asset_id,
        result.run_id,
        reason,
        vendor=outcome is not None or result.status == "aborted",
        run_status=result.status,
    )


def sync_asset(
    engine: sa.Engine,
    client: Fetcher,
    cmms_asset_id: str,
    *,
    trigger: str,
    cancel: threading.Event | None = None,
    observer: RunObserver | None = None,
    **options: Any,
) -> tuple[int, AssetOutcome]:
    """Sync one asset now, as a run of one: (run_id, its outcome). AssetNotFound when it is
    not in the register, AssetSyncFailed when it did not succeed. The run manager (the HTTP
    route) runs the same selection in its thread and reads the result with asset_synced."""
    selection = one_asset(cmms_asset_id)
    recorder = _Outcomes()
    result = run_sync(
        engine,
        client,
        trigger=trigger,
        selection=selection,
        cancel=cancel,
        observer=Observers(recorder, observer),
        **options,
    )
    return asset_synced(selection, result, recorder.outcomes)


def recover_dead_runs(engine: sa.Engine) -> list[int]:
    """Mark runs left `running` by a dead process as interrupted, if no live run holds the lock."""
    with RunLock(engine) as held:
        if not held:
            return []
        with engine.begin() as conn:
            return run_rows.mark_dead_runs_interrupted(conn, _now())
