"""The field-level history (ic3_asset_change) of real runs against the simulator, on SQLite and
PostgreSQL: a baseline records nothing, each kind of stored value records its change with the
old and new value as stored, and failures and empty API values record nothing."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa

from ic3sync.db import changes, read
from ic3sync.db.engine import WRITE_LOCK_AT_BEGIN
from ic3sync.db.schema import (
    asset_master,
    asset_performance,
    building,
    workorder_summary,
)
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, master, seed_assets, table_rows

IDS = ["Plant 01_PUMP_01", "Plant 02_PUMP_02"]


def _sync(engine: sa.Engine, faults: dict[str, str] | None = None, **kw):  # type: ignore[no-untyped-def]
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults=faults or {})) as sim,
        client_for(sim.url) as client,
    ):
        return run_sync(engine, client, trigger="cli", **kw)


def _changes(engine: sa.Engine) -> list[dict]:
    return table_rows(engine, "ic3_asset_change", order_by="change_id")


def _edit_stored(engine: sa.Engine, cmms_asset_id: str) -> None:
    """Make the stored values differ from what the simulator answers, in every kind of table."""
    asset_id = master(engine, cmms_asset_id)["asset_id"]
    with engine.begin() as conn:
        now = master(engine, cmms_asset_id)["updated_at"]
        conn.execute(
            sa.insert(building).values(
                building_id=990001, building_name="Old Block", created_at=now, updated_at=now
            )
        )
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.asset_id == asset_id)
            .values(criticality="Edited", building_id=990001)
        )
        conn.execute(
            sa.update(asset_performance)
            .where(asset_performance.c.asset_id == asset_id)
            .values(mttr="1:02:03")
        )
        conn.execute(
            sa.update(workorder_summary)
            .where(
                workorder_summary.c.asset_id == asset_id,
                workorder_summary.c.period_type == "upto",
            )
            .values(ticket_count=12345, ticket_cost=Decimal("1.5"))
        )


def test_the_first_sync_is_a_baseline_and_an_unchanged_sync_adds_nothing(engine):
    seed_assets(engine, IDS, criticality="From Excel")
    first = _sync(engine)
    assert first.success == 2
    assert _changes(engine) == []
    second = _sync(engine)
    assert second.success == 2
    assert _changes(engine) == []


def test_a_change_in_each_kind_of_table_is_recorded_with_old_and_new_as_stored(engine):
    seed_assets(engine, IDS)
    _sync(engine)
    _edit_stored(engine, IDS[0])
    result = _sync(engine)
    assert result.success == 2

    data = asset_payload(IDS[0])["response"]
    upto = data["workorder_transactional"]["upto"]
    ticket_cost = Decimal(str(upto["ticket_cost"])).quantize(Decimal("0.01"))
    found = {
        (c["table_name"], c["column_name"]): (c["old_value"], c["new_value"])
        for c in _changes(engine)
    }
    assert found == {
        ("ic3_asset_master", "criticality"): ("Edited", data["data"]["criticality"]),
        ("ic3_asset_master", "building_id"): ("990001", str(data["data"]["building_id"])),
        ("ic3_building", "building_name"): ("Old Block", data["data"]["building_name"]),
        ("ic3_asset_performance", "mttr"): ("1:02:03", data["performance"]["mttr"]),
        ("ic3_workorder_summary", "upto.ticket_count"): ("12345", str(upto["ticket_count"])),
        ("ic3_workorder_summary", "upto.ticket_cost"): ("1.50", f"{ticket_cost:f}"),
    }
    rows = _changes(engine)
    assert {(r["cmms_asset_id"], r["run_id"]) for r in rows} == {(IDS[0], result.run_id)}
    assert all(r["asset_id"] == master(engine, IDS[0])["asset_id"] for r in rows)


def test_a_sync_without_change_detection_records_nothing(engine):
    seed_assets(engine, IDS)
    _sync(engine)
    _edit_stored(engine, IDS[0])
    _sync(engine, detect_changes=False)
    assert _changes(engine) == []
    assert master(engine, IDS[0])["criticality"] != "Edited"


def test_a_failed_asset_records_nothing(engine):
    seed_assets(engine, IDS)
    _sync(engine)
    _edit_stored(engine, IDS[0])
    result = _sync(engine, faults={IDS[0]: "not_found"})
    assert (result.success, result.failed) == (1, 1)
    assert _changes(engine) == []
    assert master(engine, IDS[0])["criticality"] == "Edited"


def test_a_database_failure_rolls_the_changes_back_with_the_asset(engine):
    seed_assets(engine, IDS[:1])
    _sync(engine)
    _edit_stored(engine, IDS[0])
    with engine.begin() as conn:
        # Refuses the log row, the last statement of the asset's transaction.
        if engine.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON cmms_sync_log WHEN NEW.status = "
                    "'success' BEGIN SELECT RAISE(ABORT, 'log refused'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.status = "
                    "'success' THEN RAISE EXCEPTION 'log refused'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON cmms_sync_log "
                    "FOR EACH ROW EXECUTE FUNCTION boom()"
                )
            )
    result = _sync(engine)
    assert result.failed == 1
    assert _changes(engine) == []


def test_an_empty_api_value_keeps_the_stored_one_and_records_nothing(engine):
    seed_assets(engine, IDS[:1])
    _sync(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(asset_master).values(criticality="Critical-from-Excel"))
    result = _sync(engine, faults={IDS[0]: "empty_fields"})
    assert result.success == 1
    assert master(engine, IDS[0])["criticality"] == "Critical-from-Excel"
    assert _changes(engine) == []


def test_changes_since_the_edges_of_the_calendar_answer_all_or_nothing(engine):
    seed_assets(engine, IDS[:1])
    _sync(engine)
    _edit_stored(engine, IDS[0])
    _sync(engine)
    east, west = timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))
    with engine.connect() as conn:
        everything = read.list_changes(conn).total
        assert everything == 6
        assert read.list_changes(conn, since=datetime(1, 1, 1, tzinfo=east)).total == 6
        assert read.list_changes(conn, since=datetime(9999, 12, 31, 23, tzinfo=west)).total == 0
        counts = read.run_change_counts(conn, 2)
    assert dict(counts)["criticality"] == 1 and len(counts) == 6


def _edit_elsewhere(engine: sa.Engine, asset_id: int) -> None:
    """Another writer's edit of the asset's barcode, waiting at most a fifth of a second."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(engine.url.database or "", timeout=0.2)
        try:
            other.execute(
                "UPDATE ic3_asset_master SET barcode = 'EDITED' WHERE asset_id = ?", (asset_id,)
            )
            other.commit()
        finally:
            other.close()
        return
    with engine.connect() as other:
        other.exec_driver_sql("SET lock_timeout = '200ms'")
        other.execute(
            sa.update(asset_master)
            .where(asset_master.c.asset_id == asset_id)
            .values(barcode="EDITED")
        )
        other.commit()


def test_stored_values_read_in_an_assets_transaction_hold_until_its_writes(engine):
    # What a sync reads to compare must still be what is stored when it writes: otherwise
    # another writer's edit in between would be overwritten and the history would name the
    # wrong old value. The run's connection begins its transactions with the write lock taken.
    seed_assets(engine, IDS[:1])
    asset_id = master(engine, IDS[0])["asset_id"]
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_LOCK_AT_BEGIN: True})
        conn.begin()
        stored = changes.read_stored(conn, asset_id)
        assert stored is not None
        with pytest.raises((sqlite3.OperationalError, sa.exc.OperationalError)) as refused:
            _edit_elsewhere(engine, asset_id)
        conn.rollback()
    assert "lock" in str(refused.value)
    _edit_elsewhere(engine, asset_id)  # once the transaction is over, the edit goes through
    assert master(engine, IDS[0])["barcode"] == "EDITED"


def test_a_name_an_earlier_asset_of_the_page_rewrote_is_not_recorded_again(engine):
    # Both assets are in Shahdara STP, whose stored name is edited before the run. The first
    # asset writes the vendor's name back and records the change; the second must compare with
    # the name as it is by then (no change).
    shared = ["Plant 01_PUMP_01", "Plant 13_LIFT_13"]
    data = [asset_payload(i)["response"]["data"] for i in shared]
    assert data[0]["building_id"] == data[1]["building_id"]
    seed_assets(engine, shared)
    _sync(engine)
    with engine.begin() as conn:
        conn.execute(
            sa.update(building)
            .where(building.c.building_id == data[0]["building_id"])
            .values(building_name="Renamed Elsewhere")
        )
    result = _sync(engine)
    assert (result.success, result.failed) == (2, 0)
    assert [
        (c["cmms_asset_id"], c["table_name"], c["old_value"], c["new_value"])
        for c in _changes(engine)
    ] == [(shared[0], "ic3_building", "Renamed Elsewhere", data[0]["building_name"])]
