"""Rule 2 (one transaction per asset, its success log row included) and the import's one
transaction, proved where failure is hard to cause: the database refuses the Nth write of an
asset, or row 2 of an import, and nothing before it may have been committed. On SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.db.schema import asset_master
from ic3sync.errors import DatabaseError
from ic3sync.importer import import_assets
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.sync import run_sync
from tests.faults.checks import half_written
from tests.helpers import TOKEN, client_for, master, seed_assets, table_rows
from tests.refusals import quoted, refuse

REFUSAL = "refused by the test trigger"
CANDIDATES = [f"Plant {n:02d}_PUMP_{n:02d}" for n in range(1, 40)]
DIMENSIONS = {
    "ic3_building": "building_id",
    "ic3_floor_master": "floor_id",
    "ic3_department_master": "department_id",
}
DIMENSION_KEYS = tuple(DIMENSIONS.values())


def _keys(cmms_asset_id: str) -> dict[str, int]:
    data = asset_payload(cmms_asset_id)["response"]["data"]
    return {key: data[key] for key in DIMENSION_KEYS}


def _pick_assets() -> tuple[str, str, str]:
    """A victim and two assets around it that share none of its reference rows, so that
    "no building row of the victim" means the victim's own writes left none."""
    victim = CANDIDATES[0]
    mine = _keys(victim)
    others = [c for c in CANDIDATES[1:] if all(_keys(c)[k] != mine[k] for k in DIMENSION_KEYS)]
    return others[0], victim, others[1]


BEFORE, VICTIM, AFTER = _pick_assets()

# Every write of one asset's transaction, in the order the sync makes them: refusing the Nth
# leaves N - 1 writes behind it in the transaction that must roll back.
WRITES: dict[str, tuple[str, str]] = {
    "1 building": ("ic3_building", f"NEW.building_id = {_keys(VICTIM)['building_id']}"),
    "2 floor": ("ic3_floor_master", f"NEW.floor_id = {_keys(VICTIM)['floor_id']}"),
    "3 department": (
        "ic3_department_master",
        f"NEW.department_id = {_keys(VICTIM)['department_id']}",
    ),
    "4 master": ("ic3_asset_master", f"NEW.cmms_asset_id = {quoted(VICTIM)}"),
    "5 performance": ("ic3_asset_performance", "NEW.asset_id = {asset_id}"),
    "6 work orders upto": (
        "ic3_workorder_summary",
        "NEW.asset_id = {asset_id} AND NEW.period_type = 'upto'",
    ),
    "7 work orders last_year": (
        "ic3_workorder_summary",
        "NEW.asset_id = {asset_id} AND NEW.period_type = 'last_year'",
    ),
    "8 success log row": (
        "cmms_sync_log",
        f"NEW.cmms_asset_id = {quoted(VICTIM)} AND NEW.status = 'success'",
    ),
}


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        yield sim


def _victims_rows(engine: sa.Engine, asset_id: int) -> dict[str, list[dict[str, Any]]]:
    keys = _keys(VICTIM)
    found = {
        "ic3_asset_performance": [
            r for r in table_rows(engine, "ic3_asset_performance") if r["asset_id"] == asset_id
        ],
        "ic3_workorder_summary": [
            r for r in table_rows(engine, "ic3_workorder_summary") if r["asset_id"] == asset_id
        ],
    }
    for table, key in DIMENSIONS.items():
        found[table] = [r for r in table_rows(engine, table) if r[key] == keys[key]]
    return found


@pytest.mark.parametrize("write", list(WRITES))
def test_a_refused_nth_write_leaves_nothing_of_the_asset_and_the_run_goes_on(
    engine, simulator, write
):
    seed_assets(engine, [BEFORE, VICTIM, AFTER])
    before = master(engine, VICTIM)
    table, when = WRITES[write]
    refuse(engine, table, when.format(asset_id=before["asset_id"]), REFUSAL)

    with client_for(simulator.url) as client:
        result = run_sync(engine, client, trigger="cli")

    assert (result.status, result.success, result.failed) == ("completed", 2, 1), result.errors
    assert result.errors == [f"{VICTIM}: database rejected the asset's rows: {REFUSAL}"]
    # The writes before the refused one were made, and rolled back with it.
    assert master(engine, VICTIM) == before
    left = _victims_rows(engine, before["asset_id"])
    assert {table: rows for table, rows in left.items() if rows} == {}
    logs = table_rows(engine, "cmms_sync_log", "log_id")
    assert [(r["cmms_asset_id"], r["status"]) for r in logs] == [
        (BEFORE, "success"),
        (VICTIM, "failed"),
        (AFTER, "success"),
    ]
    assert REFUSAL in logs[1]["error_message"]
    # The assets around it are whole: master, performance, both work orders and the log row.
    assert [master(engine, cid)["sync_version"] for cid in (BEFORE, AFTER)] == [1, 1]
    assert half_written(engine, complete_answers=False) == []
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["status"], run["success"], run["failed"]) == ("completed", 2, 1)


def test_the_success_log_row_commits_with_the_asset_or_not_at_all(engine, simulator):
    """The mirror of the case above: the asset's rows are fine, only its success log row is
    refused, and the asset must not be left synced without it."""
    seed_assets(engine, [VICTIM])
    refuse(engine, *WRITES["8 success log row"], REFUSAL)
    with client_for(simulator.url) as client:
        result = run_sync(engine, client, trigger="cli")
    assert (result.success, result.failed) == (0, 1)
    row = master(engine, VICTIM)
    assert (row["sync_version"], row["last_synced_at"], row["traceability_id"]) == (0, None, None)
    assert table_rows(engine, "ic3_asset_performance") == []
    assert table_rows(engine, "ic3_workorder_summary") == []


# -- the import: one transaction ------------------------------------------------------------


def _register(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("Asset ID,Asset Name\n" + "".join(f"{a},{n}\n" for a, n in rows))
    return path


def _names(engine: sa.Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(asset_master.c.cmms_asset_id, asset_master.c.asset_name))
        return {cid: name for cid, name in rows}


def test_an_import_whose_row_2_is_refused_leaves_row_1_uncommitted(engine, tmp_path):
    refuse(engine, "ic3_asset_master", f"NEW.cmms_asset_id = {quoted('Row 2')}", REFUSAL)
    path = _register(tmp_path / "register.csv", [("Row 1", "First"), ("Row 2", "Second")])
    with pytest.raises(DatabaseError) as caught:
        import_assets(engine, path)
    assert str(path) in str(caught.value) and REFUSAL in str(caught.value)
    assert "not written" in str(caught.value)
    assert _names(engine) == {}


@pytest.mark.parametrize(
    ("stored", "sheet", "kept"),
    [
        # Row 1 is inserted and row 2 updated by two statements: only one transaction around
        # both keeps row 1 out. (PostgreSQL runs one multi-row statement atomically even in
        # autocommit, so the case above alone would not tell.)
        ([("Row 2", "Second")], [("Row 1", "First"), ("Row 2", "Renamed")], {"Row 2": "Second"}),
        (
            [("Row 1", "First"), ("Row 2", "Second")],
            [("Row 1", "Renamed"), ("Row 2", "Renamed")],
            {"Row 1": "First", "Row 2": "Second"},
        ),
    ],
    ids=["row 1 new", "row 1 known"],
)
def test_an_import_whose_row_2_update_is_refused_leaves_row_1_as_it_was(
    engine, tmp_path, stored, sheet, kept
):
    import_assets(engine, _register(tmp_path / "stored.csv", stored))
    refuse(
        engine,
        "ic3_asset_master",
        f"NEW.cmms_asset_id = {quoted('Row 2')}",
        REFUSAL,
        events=("UPDATE",),
    )
    with pytest.raises(DatabaseError, match=REFUSAL):
        import_assets(engine, _register(tmp_path / "sheet.csv", sheet))
    assert _names(engine) == kept


# -- the engine ---------------------------------------------------------------------------


def test_the_engine_opens_transactions_not_autocommit(engine):
    """What every transaction above rests on. A write inside an open transaction is invisible to
    another connection and gone after a rollback; in autocommit it would be neither."""
    insert = sa.insert(asset_master).values(
        cmms_asset_id="Uncommitted_01", created_at=sa.func.now(), updated_at=sa.func.now()
    )
    count = sa.select(sa.func.count()).select_from(asset_master)
    peer = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with engine.connect() as conn:
            conn.begin()
            conn.execute(insert)
            assert conn.execute(count).scalar_one() == 1
            with peer.connect() as other:
                assert other.execute(count).scalar_one() == 0
            conn.rollback()
        with peer.connect() as other:
            assert other.execute(count).scalar_one() == 0
    finally:
        peer.dispose()
