"""Which assets a run takes, and in which order (rule 1: report_seq_no, then asset_id, a missing
report_seq_no last), on registers and histories built out of order on purpose: ties inserted
against their asset_id order, NULLs among the numbers, skipped log rows after a failure.
On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from ic3sync.db.schema import asset_master, sync_log, sync_run
from ic3sync.errors import NoAssetMatches
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection
from ic3sync.sync import SyncResult, run_sync
from tests.helpers import TOKEN, client_for, table_rows

# (asset_id, cmms_asset_id, report_seq_no) in the order they are inserted: the ties of 7 and
# the NULLs arrive against their asset_id order, so a database that hands back ties in the
# order it stored them gets them wrong without the asset_id tie-break. Each half of the rule
# shows on one backend: PostgreSQL returns ties in storage order but sorts NULLs last anyway,
# SQLite puts NULLs first but returns ties in rowid (asset_id) order.
REGISTER = [
    (70, "Tie 70", 7),
    (40, "Null 40", None),
    (50, "Tie 50", 7),
    (10, "Tie 10", 7),
    (5, "Two 5", 2),
    (30, "Null 30", None),
    (60, "Tie 60", 7),
    (90, "One 90", 1),
    (20, "Null 20", None),
    (35, "Tie 35", 7),
    (15, "Null 15", None),
]
ORDER = [
    "One 90",
    "Two 5",
    "Tie 10",
    "Tie 35",
    "Tie 50",
    "Tie 60",
    "Tie 70",
    "Null 15",
    "Null 20",
    "Null 30",
    "Null 40",
]


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        yield sim


def insert_register(engine: sa.Engine, rows: list[tuple[int, str, int | None]]) -> None:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for asset_id, cmms_asset_id, seq in rows:  # one by one: the order is the point
            conn.execute(
                sa.insert(asset_master).values(
                    asset_id=asset_id,
                    cmms_asset_id=cmms_asset_id,
                    report_seq_no=seq,
                    customer_id=24463,
                    created_at=now,
                    updated_at=now,
                )
            )


def sync(engine: sa.Engine, sim: Simulator, selection: AssetSelection | None = None) -> SyncResult:
    with client_for(sim.url) as client:
        return run_sync(engine, client, trigger="cli", selection=selection)


def logged_order(engine: sa.Engine, run_id: int) -> list[str]:
    rows = table_rows(engine, "cmms_sync_log", "log_id")
    return [r["cmms_asset_id"] for r in rows if r["run_id"] == run_id]


def test_a_run_takes_report_seq_no_then_asset_id_with_a_missing_number_last(engine, simulator):
    insert_register(engine, REGISTER)
    result = sync(engine, simulator)
    assert result.total == len(ORDER)
    assert logged_order(engine, result.run_id) == ORDER


@pytest.mark.parametrize(("offset", "batch"), [(2, 3), (6, 3), (9, None)])
def test_batch_and_offset_slice_that_order(engine, simulator, offset, batch):
    insert_register(engine, REGISTER)
    result = sync(engine, simulator, AssetSelection(batch=batch, offset=offset))
    expected = ORDER[offset : None if batch is None else offset + batch]
    assert logged_order(engine, result.run_id) == expected


# -- --only-failed --------------------------------------------------------------------------

# Each asset's log rows, oldest first, over four earlier runs ("-" = not in that run).
HISTORY = {
    "Failed then skipped": ["failed", "skipped", "-", "-"],
    "Failed, skipped twice": ["success", "failed", "skipped", "skipped"],
    "Failed, then fixed, then skipped": ["failed", "success", "skipped", "-"],
    "Fixed after a failure": ["failed", "-", "success", "-"],
    "Only ever skipped": ["skipped", "skipped", "-", "-"],
    "Succeeded then skipped": ["success", "skipped", "-", "-"],
    "Failed last": ["success", "-", "-", "failed"],
    "Never synced": ["-", "-", "-", "-"],
}
# Whose latest success-or-failure is a failure, in register order.
LATEST_FAILED = ["Failed then skipped", "Failed, skipped twice", "Failed last"]


def insert_history(engine: sa.Engine) -> None:
    started = datetime.now(UTC) - timedelta(days=1)
    statuses = ["completed", "cancelled", "aborted", "cancelled"]
    with engine.begin() as conn:
        for n, status in enumerate(statuses):
            at = started + timedelta(hours=n)
            run_id = conn.execute(
                sa.insert(sync_run)
                .values(trigger="cli", scope="full", status=status, started_at=at, finished_at=at)
                .returning(sync_run.c.run_id)
            ).scalar_one()
            for cid, outcomes in HISTORY.items():
                if outcomes[n] != "-":
                    conn.execute(
                        sa.insert(sync_log).values(
                            run_id=run_id,
                            cmms_asset_id=cid,
                            status=outcomes[n],
                            error_message="HTTP 404 Not Found" if outcomes[n] == "failed" else None,
                            synced_at=at,
                        )
                    )


def test_only_failed_looks_past_skipped_rows_to_the_latest_outcome(engine, simulator):
    insert_register(engine, [(n + 1, cid, n + 1) for n, cid in enumerate(HISTORY)])
    insert_history(engine)
    result = sync(engine, simulator, AssetSelection(only_failed=True))
    assert (result.total, result.success) == (len(LATEST_FAILED), len(LATEST_FAILED))
    assert logged_order(engine, result.run_id) == LATEST_FAILED
    # Now each of them succeeded last: nothing is left to retry, and no empty run is recorded.
    with pytest.raises(NoAssetMatches):
        sync(engine, simulator, AssetSelection(only_failed=True))


def test_only_failed_keeps_the_register_order(engine, simulator):
    insert_register(engine, REGISTER)
    with engine.begin() as conn:
        run_id = conn.execute(
            sa.insert(sync_run)
            .values(trigger="cli", scope="full", status="completed", started_at=datetime.now(UTC))
            .returning(sync_run.c.run_id)
        ).scalar_one()
        # Failures logged in insertion order, which is not the run order.
        for _, cid, _ in REGISTER:
            conn.execute(
                sa.insert(sync_log).values(
                    run_id=run_id, cmms_asset_id=cid, status="failed", synced_at=datetime.now(UTC)
                )
            )
    result = sync(engine, simulator, AssetSelection(only_failed=True, offset=1, batch=9))
    assert logged_order(engine, result.run_id) == ORDER[1:10]
