"""One asset's sync: fetch its detail, map it, and have it stored with its log row. Whatever
happens to the asset comes back as its outcome; only what ends the run (a rejected token, the
database gone, a stop) is raised."""

from __future__ import annotations

import time
from datetime import tzinfo

from ic3sync import mapping
from ic3sync.errors import AssetNotStored, VendorAuthError, VendorError
from ic3sync.model import AssetOutcome, AssetRef
from ic3sync.sync.ports import AssetStore, Fetcher

# The longest error_message a log row keeps: every reason is capped where it is made, and this
# bounds what many of them (or one more this forgot) add up to in a row, a page and a notice.
ERROR_LIMIT = 2000


def sync_one(
    asset: AssetRef,
    fetcher: Fetcher,
    store: AssetStore,
    *,
    vendor_zone: tzinfo = mapping.DEFAULT_VENDOR_ZONE,
) -> AssetOutcome:
    """The asset's outcome, stored. VendorAuthError leaves unlogged: the run decides."""
    started = time.monotonic()
    outcome = AssetOutcome(cmms_asset_id=asset.cmms_asset_id, status="failed")
    try:
        fetched = fetcher.fetch(asset.cmms_asset_id)
        outcome.http_status = fetched.http_status
        outcome.attempts = fetched.attempts
        outcome.http_ms = fetched.http_ms
        # An answer about another asset (rule 3) fails here, before anything is written.
        rows = mapping.rows_from_response(
            asset.cmms_asset_id, fetched.response, vendor_zone=vendor_zone
        )
    except VendorAuthError:
        raise
    except VendorError as exc:
        outcome.error = exc.reason
        outcome.error_kind = exc.kind
        if outcome.attempts == 0:
            # A fetch error carries its own status; a mapping error keeps the fetch's.
            outcome.http_status = exc.http_status
            outcome.attempts = exc.attempts
        return _failed(store, asset, outcome, started)
    outcome.status = "success"
    outcome.traceability_id = rows.traceability_id
    said = ["stored as NULL: " + "; ".join(rows.problems)] if rows.problems else []
    if said or rows.notes:
        # The notes first: what making the answer safe changed must survive the cap.
        outcome.error = _capped("; ".join([*rows.notes, *said]))
    outcome.duration_ms = _ms_since(started)
    try:
        store.write_synced(asset, rows, outcome)
    except AssetNotStored as exc:
        outcome.status = "failed"
        outcome.error = exc.reason
        outcome.error_kind = "database"
        return _failed(store, asset, outcome, started)
    return outcome


def _failed(
    store: AssetStore, asset: AssetRef, outcome: AssetOutcome, started: float
) -> AssetOutcome:
    outcome.duration_ms = _ms_since(started)
    outcome.error = _capped(outcome.error)
    store.write_failed(asset, outcome)
    return outcome


def _capped(error: str | None) -> str | None:
    if error is None or len(error) <= ERROR_LIMIT:
        return error
    return error[: ERROR_LIMIT - 1] + "\u2026"


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
