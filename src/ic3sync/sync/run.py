"""A sync run: start it, take its assets one at a time (contract rule 1), stop it when it must,
and finish it with a summary. Written against the ports (sync/ports.py); `run_sync` wires the
SQL unit of work in."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from datetime import tzinfo
from typing import TypedDict

from ic3sync import mapping
from ic3sync.config import Settings
from ic3sync.errors import (
    AssetNotStored,
    AssetSyncFailed,
    Cancelled,
    DatabaseError,
    NoAssetMatches,
    VendorAuthError,
)
from ic3sync.logs import current_asset, current_run_id
from ic3sync.model import (
    AssetOutcome,
    AssetRef,
    AssetSelection,
    Observers,
    RunObserver,
    SyncResult,
    clean_asset_id,
)
from ic3sync.sync.asset import sync_one
from ic3sync.sync.guards import CancelWatch, LockWatch, VendorBreaker
from ic3sync.sync.ports import Fetcher, RunStore

log = logging.getLogger("ic3sync.sync")

# How long a run waits for a database that went away (a restart, a failover, a network cut)
# before it gives up and ends `aborted`, unless IC3_DB_RETRY_S says otherwise.
DB_RETRY_S = 30.0


class RunOptions(TypedDict):
    """What of the settings a run uses beyond its engine and client (run_sync's keywords)."""

    db_retry_s: float
    vendor_zone: tzinfo


def run_options(settings: Settings) -> RunOptions:
    return RunOptions(db_retry_s=settings.db_retry_s, vendor_zone=settings.vendor_zone)


def run(
    store: RunStore,
    fetcher: Fetcher,
    *,
    trigger: str,
    selection: AssetSelection,
    cancel: threading.Event,
    observer: RunObserver,
    vendor_zone: tzinfo = mapping.DEFAULT_VENDOR_ZONE,
) -> SyncResult:
    """One sequential run through `store`. Raises what store.start raises, and NoAssetMatches
    when the selection is empty (no run row is written). Everything else about the run,
    including its failures and a database that went away mid-run, is in the SyncResult."""
    started = time.monotonic()
    run_id, total, dead = store.start(trigger, selection)
    if dead:
        log.warning("marked run(s) %s interrupted: their process had died", dead)
        observer.runs_interrupted(dead)
    if run_id is None:
        raise NoAssetMatches(selection.describe())
    result = SyncResult(run_id=run_id, total=total)
    # Every log line of this run, from any layer, names it (the text and JSON formats).
    naming = current_run_id.set(run_id)
    try:
        log.info("run %s started: %d assets", run_id, total, extra={"run_id": run_id})
        observer.run_started(run_id, total)
        try:
            _each_asset(store, fetcher, result, cancel, observer, vendor_zone)
        except Exception as exc:
            # A fault of this code, not of the vendor or the database: the run row still ends
            # (aborted, the assets not reached logged skipped) instead of staying `running`.
            result.status = "aborted"
            result.error = f"internal error: {type(exc).__name__}: {exc}"
            result.duration_ms = _ms_since(started)
            with contextlib.suppress(Exception):
                store.finish(result)
            raise
        result.duration_ms = _ms_since(started)
        store.finish(result)
        log.info(
            "run %s %s: %d ok, %d failed, %d skipped in %d ms",
            run_id,
            result.status,
            result.success,
            result.failed,
            result.skipped,
            result.duration_ms,
            extra={"run_id": run_id},
        )
    finally:
        current_run_id.reset(naming)
    observer.run_finished(result)
    return result


def _each_asset(
    store: RunStore,
    fetcher: Fetcher,
    result: SyncResult,
    cancel: threading.Event,
    observer: RunObserver,
    vendor_zone: tzinfo,
) -> None:
    """Sync the run's assets in order; result.status says how the loop ended."""
    cancel_watch = CancelWatch(cancel, store.cancel_requested)
    lock_watch = LockWatch(store.lock_held)
    breaker = VendorBreaker(fetcher.max_consecutive_failures, fetcher.public_url)
    try:
        for index, asset in enumerate(store.assets()):
            if cancel_watch.requested(result.run_id):
                result.status = "cancelled"
                return
            observer.asset_started(index, asset)
            in_flight = current_asset.set(asset.cmms_asset_id)
            try:
                lock_watch.check()
                outcome = sync_one(asset, fetcher, store, vendor_zone=vendor_zone)
            except VendorAuthError as exc:
                _auth_failed(store, result, asset, exc)
                return
            finally:
                current_asset.reset(in_flight)
            if outcome.status == "failed":
                # The CLI's and the service's logs alike: one WARNING per failed asset.
                log.warning(
                    "asset failed: %s",
                    outcome.error,
                    extra={"run_id": result.run_id, "cmms_asset_id": asset.cmms_asset_id},
                )
            result.count(outcome)
            store.progress(result, asset.cmms_asset_id)
            observer.asset_done(index, outcome)
            breaker.record(outcome)
            if (dead := breaker.tripped()) is not None:
                log.error(
                    "run %s aborted: %s", result.run_id, dead, extra={"run_id": result.run_id}
                )
                result.status = "aborted"
                result.error = dead
                return
    except Cancelled:
        result.status = "cancelled"
        return
    except DatabaseError as exc:
        result.status = "aborted"
        result.error = str(exc)
        return
    result.status = "completed"


def _auth_failed(
    store: RunStore, result: SyncResult, asset: AssetRef, exc: VendorAuthError
) -> None:
    """A rejected token ends the run at once (contract rule 6), the asset logged failed."""
    outcome = AssetOutcome(
        cmms_asset_id=asset.cmms_asset_id,
        status="failed",
        error=exc.reason,
        http_status=exc.http_status,
        attempts=exc.attempts,
        error_kind=exc.kind,
    )
    with contextlib.suppress(AssetNotStored, DatabaseError):
        # If this fails too, finish() logs the asset as skipped with the same reason.
        store.write_failed(asset, outcome)
        result.count(outcome)
    result.status = "aborted"
    result.error = exc.reason


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


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


def recording_outcomes(observer: RunObserver | None) -> tuple[RunObserver, list[AssetOutcome]]:
    """An observer that also keeps every asset's outcome, and the list it keeps them in."""
    recorder = _Outcomes()
    return Observers(recorder, observer), recorder.outcomes
