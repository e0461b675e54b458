"""The service layer: a sync run (run.py) of one asset after another (asset.py), stopped by its
guards (guards.py), through ports (ports.py) that production fills with the Innomaint client and
the SQL unit of work, wired here."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, tzinfo

import sqlalchemy as sa

from ic3sync import mapping
from ic3sync.db import runs as run_rows
from ic3sync.db.lock import RunLock
from ic3sync.db.unit_of_work import SqlRunStore
from ic3sync.model import AssetOutcome, AssetSelection, Observers, RunObserver, SyncResult
from ic3sync.sync.ports import Fetcher
from ic3sync.sync.run import (
    DB_RETRY_S,
    RunOptions,
    asset_synced,
    one_asset,
    recording_outcomes,
    run,
    run_options,
)

__all__ = [
    "DB_RETRY_S",
    "Fetcher",
    "RunOptions",
    "SyncResult",
    "asset_synced",
    "one_asset",
    "recover_dead_runs",
    "run_options",
    "run_sync",
    "sync_asset",
]


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
    """One sequential run on `engine`. Raises RunInProgress when another run holds the lock,
    AssetNotFound for a single-asset run of an unknown id, NoAssetMatches when the selection is
    empty (no run row is written), DatabaseError when the database is unreachable at the start.
    `detect_changes=False` skips the field-level history (ic3_asset_change)."""
    cancel = cancel or threading.Event()
    with SqlRunStore(
        engine, cancel=cancel, db_retry_s=db_retry_s, detect_changes=detect_changes
    ) as store:
        return run(
            store,
            client,
            trigger=trigger,
            selection=selection or AssetSelection(),
            cancel=cancel,
            observer=observer or Observers(),
            vendor_zone=vendor_zone,
        )


def sync_asset(
    engine: sa.Engine,
    client: Fetcher,
    cmms_asset_id: str,
    *,
    trigger: str,
    cancel: threading.Event | None = None,
    observer: RunObserver | None = None,
    db_retry_s: float = DB_RETRY_S,
    vendor_zone: tzinfo = mapping.DEFAULT_VENDOR_ZONE,
) -> tuple[int, AssetOutcome]:
    """Sync one asset now, as a run of one: (run_id, its outcome). AssetNotFound when it is
    not in the register, AssetSyncFailed when it did not succeed."""
    selection = one_asset(cmms_asset_id)
    watching, outcomes = recording_outcomes(observer)
    result = run_sync(
        engine,
        client,
        trigger=trigger,
        selection=selection,
        cancel=cancel,
        observer=watching,
        db_retry_s=db_retry_s,
        vendor_zone=vendor_zone,
    )
    return asset_synced(selection, result, outcomes)


def recover_dead_runs(engine: sa.Engine) -> list[int]:
    """Mark runs left `running` by a dead process as interrupted, if no live run holds the lock."""
    with RunLock(engine) as held:
        if not held:
            return []
        with engine.begin() as conn:
            return run_rows.mark_dead_runs_interrupted(conn, datetime.now(UTC))
