"""What needs a person (db/read/attention.py) as the plain rows of one sheet: the assets
failing full run after full run, the never synced, then each value that could not be used.
A row is a dict of ATTENTION_COLUMNS; its reason reads as on the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from ic3sync.api.present import reason_kind
from ic3sync.db.read.attention import (
    FAILING_RUNS,
    failing_assets,
    never_synced,
    unusable_values,
)

# The keys of each row, in order: a sheet's columns.
ATTENTION_COLUMNS: tuple[str, ...] = (
    "what",
    "cmms_asset_id",
    "asset_name",
    "field",
    "reason",
    "runs",
    "since_at",
    "detail",
)


def _row(**values: Any) -> dict[str, Any]:
    return {key: values.get(key) for key in ATTENTION_COLUMNS}


def attention_rows(
    conn: sa.Connection, *, failing_runs: int = FAILING_RUNS
) -> Iterator[dict[str, Any]]:
    """Every asset that needs a person, one row each (and one per unusable value): `what` says
    which list it is on, `reason` why in a few words, `detail` the message or what was sent;
    `since_at` is a UTC instant, `runs` the streak of a failing asset."""
    for a in failing_assets(conn, runs=failing_runs)[1]:
        yield _row(
            what=f"failed {a.runs} full runs in a row",
            cmms_asset_id=a.cmms_asset_id,
            asset_name=a.asset_name,
            reason=reason_kind(a.error_kind, a.http_status),
            runs=a.runs,
            since_at=a.since,
            detail=a.error_message,
        )
    for n in never_synced(conn, limit=None)[1]:
        yield _row(what="never synced", cmms_asset_id=n.cmms_asset_id, asset_name=n.asset_name)
    for v in unusable_values(conn):
        yield _row(
            what="value stored as NULL",
            cmms_asset_id=v.cmms_asset_id,
            asset_name=v.asset_name,
            field=v.field,
            reason="unusable value",
            detail=v.problem,
        )
