"""Every run records its scope, and "the last run" is the last full one (rule 15): a sync-one
after the nightly run does not hide the nightly run's failures. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from ic3sync.api.dashboard.overview import overview_context
from ic3sync.api.reads import ReadModels
from ic3sync.config import Settings
from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import migrate_to
from ic3sync.export import write_workbook
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection, SyncResult
from ic3sync.runs import RunManager
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets, table_rows

IDS = ["Scope 01_PUMP_01", "Scope 02_PUMP_02", "Scope 03_PUMP_03"]
BROKEN = IDS[2]


@pytest.mark.parametrize(
    ("selection", "scope"),
    [
        (AssetSelection(), "full"),
        (AssetSelection(offset=0), "full"),
        (AssetSelection(batch=3), "partial"),
        (AssetSelection(offset=1), "partial"),
        (AssetSelection(customer_id=7), "partial"),
        (AssetSelection(only_failed=True), "partial"),
        (AssetSelection(cmms_asset_id="A", batch=1), "asset"),
    ],
)
def test_a_selection_names_its_scope(selection: AssetSelection, scope: str) -> None:
    assert selection.scope == scope


def _sync(engine: sa.Engine, selection: AssetSelection | None = None) -> SyncResult:
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults={BROKEN: "not_found"})) as sim,
        client_for(sim.url) as client,
    ):
        return run_sync(engine, client, trigger="cli", selection=selection)


def _full_run_then_sync_one(engine: sa.Engine) -> tuple[int, int]:
    seed_assets(engine, IDS)
    full = _sync(engine)
    assert (full.status, full.failed) == ("completed", 1)
    one = _sync(engine, AssetSelection(cmms_asset_id=IDS[0], batch=1))
    assert (one.success, one.failed) == (1, 0)
    return full.run_id, one.run_id


def test_each_run_row_records_its_scope(engine):
    _full_run_then_sync_one(engine)
    _sync(engine, AssetSelection(batch=2))
    runs = table_rows(engine, "cmms_sync_run", "run_id")
    assert [r["scope"] for r in runs] == ["full", "asset", "partial"]


def test_the_export_tells_the_full_runs_failures_after_a_sync_one(engine, tmp_path):
    full_id, _ = _full_run_then_sync_one(engine)
    counts = write_workbook(
        engine, tmp_path / "x.xlsx", zone=ZoneInfo("Asia/Kolkata"), now=datetime.now(UTC)
    )
    assert (counts.failures_run_id, counts.failures) == (full_id, 1)


def test_the_overview_shows_the_last_full_run_and_the_sync_one_apart(engine, migrated_db_url):
    full_id, one_id = _full_run_then_sync_one(engine)
    settings = Settings(database_url=migrated_db_url, api_token=TOKEN)
    manager = RunManager(engine, settings, client_factory=lambda **_: None)  # type: ignore[arg-type,return-value]
    context = overview_context(ReadModels(engine, manager), manager, settings)
    assert context["finished"].run_id == full_id
    assert (context["latest"].run_id, context["latest"].scope) == (one_id, "asset")


def test_the_latest_activity_is_not_repeated_when_it_is_the_full_run(engine, migrated_db_url):
    seed_assets(engine, IDS)
    full_id = _sync(engine).run_id
    settings = Settings(database_url=migrated_db_url, api_token=TOKEN)
    manager = RunManager(engine, settings, client_factory=lambda **_: None)  # type: ignore[arg-type,return-value]
    context = overview_context(ReadModels(engine, manager), manager, settings)
    assert (context["finished"].run_id, context["latest"]) == (full_id, None)


def test_runs_before_the_scope_column_get_it_from_their_filters(db_url):
    engine = make_engine(db_url)
    try:
        migrate_to(engine, "0007")
        filters = [
            ("", ""),
            (", batch_size", ", 100"),
            (", offset_start", ", 5"),
            (", customer_id", ", 42"),
            (", only_failed", ", TRUE"),
            (", cmms_asset_id, batch_size", ", 'A', 1"),
            (", offset_start, batch_size", ", 0, NULL"),
        ]
        with engine.begin() as conn:
            for columns, values in filters:
                conn.execute(
                    sa.text(
                        f"INSERT INTO cmms_sync_run (trigger, status, started_at{columns}) "
                        f"VALUES ('api', 'completed', :now{values})"
                    ),
                    {"now": datetime.now(UTC)},
                )
        migrate_to(engine, "head")
        scopes = [r["scope"] for r in table_rows(engine, "cmms_sync_run", "run_id")]
        assert scopes == ["full", "partial", "partial", "partial", "partial", "asset", "full"]
        with engine.begin() as conn:
            for trigger in ("dashboard", "demo"):
                conn.execute(
                    sa.text(
                        "INSERT INTO cmms_sync_run (trigger, scope, status, started_at) "
                        "VALUES (:t, 'full', 'completed', :now)"
                    ),
                    {"t": trigger, "now": datetime.now(UTC)},
                )
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO cmms_sync_run (trigger, scope, status, started_at) "
                    "VALUES ('cli', 'most', 'completed', :now)"
                ),
                {"now": datetime.now(UTC)},
            )
    finally:
        engine.dispose()
