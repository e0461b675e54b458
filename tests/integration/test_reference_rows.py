"""The reference rows an answer names (building, floor, department) are shared by many assets: a
run writes each one once with the values it was sent, writes it again when an answer sends other
values or when the asset's stored values show it was changed elsewhere during the run, and never
counts as written a row whose asset's transaction rolled back. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from ic3sync.db.schema import building
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.model import AssetOutcome, RunObserver
from ic3sync.sync import SyncResult, run_sync
from tests.helpers import TOKEN, client_for, master, seed_assets, table_rows

# One building for all four; two floors and three departments among them.
SHARED = ["Plant 03_PUMP_03", "Plant 14_PUMP_14", "Plant 23_PUMP_23", "Plant 24_PUMP_24"]
REFERENCE_TABLES = ("ic3_building", "ic3_floor_master", "ic3_department_master")


def _data(cmms_asset_id: str) -> dict[str, Any]:
    return dict(asset_payload(cmms_asset_id)["response"]["data"])


def _sync(engine: sa.Engine, observer: RunObserver | None = None) -> SyncResult:
    with (
        Simulator(SimulatorConfig(token=TOKEN)) as sim,
        client_for(sim.url) as client,
    ):
        return run_sync(engine, client, trigger="cli", observer=observer)


@contextmanager
def _reference_writes(engine: sa.Engine) -> Iterator[Counter[str]]:
    """How many statements of the run wrote each reference table."""
    seen: Counter[str] = Counter()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        head = statement.lstrip().upper()
        for table in REFERENCE_TABLES:
            if head.startswith(f"INSERT INTO {table.upper()} "):
                seen[table] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def test_a_run_writes_each_shared_reference_row_once(engine):
    data = [_data(i) for i in SHARED]
    assert len({d["building_id"] for d in data}) == 1
    seed_assets(engine, SHARED)
    _sync(engine)  # the rows exist: the run below finds them as a nightly run does
    with _reference_writes(engine) as seen:
        result = _sync(engine)
    assert (result.success, result.failed) == (4, 0)
    assert seen == {
        "ic3_building": 1,
        "ic3_floor_master": len({d["floor_id"] for d in data}),
        "ic3_department_master": len({d["department_id"] for d in data}),
    }
    [stored] = table_rows(engine, "ic3_building")
    assert stored["building_name"] == data[0]["building_name"]


class _EditAfterFirst(RunObserver):
    """Renames the shared building from another connection once the first asset is stored."""

    def __init__(self, engine: sa.Engine, building_id: int) -> None:
        self.engine = engine
        self.building_id = building_id

    def asset_done(self, index: int, outcome: AssetOutcome) -> None:
        if index == 0:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(building)
                    .where(building.c.building_id == self.building_id)
                    .values(building_name="Renamed Elsewhere")
                )


def test_a_reference_row_changed_elsewhere_during_the_run_is_written_back(engine):
    data = _data(SHARED[0])
    seed_assets(engine, SHARED)
    _sync(engine)
    result = _sync(engine, _EditAfterFirst(engine, data["building_id"]))
    assert (result.success, result.failed) == (4, 0)
    [stored] = table_rows(engine, "ic3_building")
    assert stored["building_name"] == data["building_name"]
    changes = [
        (c["cmms_asset_id"], c["old_value"], c["new_value"])
        for c in table_rows(engine, "ic3_asset_change", order_by="change_id")
        if c["table_name"] == "ic3_building"
    ]
    assert changes == [(SHARED[1], "Renamed Elsewhere", data["building_name"])]


def _refuse_performance_of(engine: sa.Engine, asset_id: int) -> None:
    """The database refuses the first asset's performance row: its transaction rolls back,
    with the reference rows it had written."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_performance BEFORE INSERT ON ic3_asset_performance "
                f"WHEN NEW.asset_id = {asset_id} "
                "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION refuse_performance() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_performance BEFORE INSERT ON ic3_asset_performance "
                f"FOR EACH ROW WHEN (NEW.asset_id = {asset_id}) "
                "EXECUTE FUNCTION refuse_performance()"
            )


def test_reference_rows_of_a_rolled_back_asset_are_written_by_the_next(engine):
    seed_assets(engine, SHARED[:2])
    _refuse_performance_of(engine, master(engine, SHARED[0])["asset_id"])
    result = _sync(engine)
    assert (result.success, result.failed) == (1, 1)
    [stored] = table_rows(engine, "ic3_building")
    assert stored["building_name"] == _data(SHARED[1])["building_name"]
    assert master(engine, SHARED[1])["building_id"] == stored["building_id"]
