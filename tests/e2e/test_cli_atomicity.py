"""The transactions of `ic3sync import-assets` and `ic3sync sync` as processes, on the engine the
command line builds for itself: the database refuses a write half-way, and what came before it
in the same transaction must not have been committed. On SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.importer import import_assets
from tests.helpers import master, table_rows
from tests.procs import base_env, run_cli
from tests.refusals import quoted, refuse

REFUSAL = "refused by the test trigger"


def _migrated(db_url: str) -> tuple[dict[str, str], sa.Engine]:
    return base_env(db_url), make_engine(db_url)


def _register(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("Asset ID,Asset Name\n" + "".join(f"{a},{n}\n" for a, n in rows))
    return path


def test_import_assets_commits_nothing_when_the_database_refuses_row_2(migrated_db_url, tmp_path):
    env, engine = _migrated(migrated_db_url)
    try:
        # What is there before: imported in-process, by the code the command runs.
        assert import_assets(engine, _register(tmp_path / "a.csv", [("R 2", "Old")])).inserted == 1
        refuse(engine, "ic3_asset_master", f"NEW.cmms_asset_id = {quoted('R 2')}", REFUSAL)
        # Row 1 is new (an INSERT), row 2 known (an UPDATE): two statements, one transaction.
        path = _register(tmp_path / "b.csv", [("R 1", "New"), ("R 2", "Renamed")])
        refused = run_cli("import-assets", str(path), env=env)
        assert refused.returncode == 1
        said = " ".join(refused.stderr.split())  # the terminal wraps long lines
        assert "b.csv was not written" in said and REFUSAL in said
        assert "Traceback" not in said
        names = {
            r["cmms_asset_id"]: r["asset_name"] for r in table_rows(engine, "ic3_asset_master")
        }
        assert names == {"R 2": "Old"}
    finally:
        engine.dispose()


def test_sync_rolls_back_the_asset_whose_last_write_is_refused_and_goes_on(
    migrated_db_url, tmp_path, api_simulator
):
    env, engine = _migrated(migrated_db_url)
    try:
        ids = ["Atom_01", "Atom_02", "Atom_03"]
        register = _register(tmp_path / "r.csv", [(i, f"Pump {i}") for i in ids])
        assert import_assets(engine, register).inserted == 3
        victim = master(engine, ids[1])
        # The asset's last row before its log row: everything before it is in the transaction.
        refuse(
            engine,
            "ic3_workorder_summary",
            f"NEW.asset_id = {victim['asset_id']} AND NEW.period_type = 'last_year'",
            REFUSAL,
        )
        env["INNOMAINT_API_URL"] = api_simulator
        synced = run_cli("sync", "--json", env=env)
        assert synced.returncode == 3, synced.stderr
        assert master(engine, ids[1]) == victim
        for table in ("ic3_asset_performance", "ic3_workorder_summary"):
            assert victim["asset_id"] not in {r["asset_id"] for r in table_rows(engine, table)}
        logs = table_rows(engine, "cmms_sync_log", "log_id")
        assert [r["status"] for r in logs] == ["success", "failed", "success"]
        assert REFUSAL in logs[1]["error_message"]
        assert [master(engine, i)["sync_version"] for i in ids] == [1, 0, 1]
    finally:
        engine.dispose()
