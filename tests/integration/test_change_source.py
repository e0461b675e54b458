"""Where each change came from (rule 14) and what a batched API run leaves for later, read the
way operators read them: the history's filters, the admin API in process (FastAPI's TestClient)
and the run's page. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from ic3sync.api import create_app
from ic3sync.bootstrap import bootstrap
from ic3sync.config import Settings
from ic3sync.db import read
from ic3sync.db.schema import asset_master
from ic3sync.importer import import_assets
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from tests.helpers import TOKEN, seed_assets

IDS = ["Source 01_PUMP_01", "Source 02_PUMP_02", "Source 03_PUMP_03"]
PREFIX = "/api/admin/cmms"


@pytest.fixture
def api(engine: sa.Engine, migrated_db_url: str) -> Iterator[TestClient]:
    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        settings = Settings(
            database_url=migrated_db_url, api_url=sim.url, api_token=TOKEN, rate_ms=0
        )
        app = create_app(bootstrap(settings, engine=engine))
        # Without the lifespan: no scheduler or staleness watch, the routes alone.
        yield TestClient(app, base_url="http://127.0.0.1")


def _edit(engine: sa.Engine, cmms_asset_id: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == cmms_asset_id)
            .values(**values)
        )


def test_a_syncs_changes_are_cmms_and_an_imports_register_and_each_filter_tells_them_apart(
    engine: sa.Engine, api: TestClient, tmp_path: Path
) -> None:
    seed_assets(engine, IDS[:1])
    assert api.post(f"{PREFIX}/sync", params={"batch": 1}).json()["success"] == 1  # baseline
    _edit(engine, IDS[0], criticality="Was-Low")
    run = api.post(f"{PREFIX}/sync", params={"batch": 1}).json()
    sheet = tmp_path / "register.csv"
    sheet.write_text(f"Asset ID,Asset Name\n{IDS[0]},Renamed Pump\n", encoding="utf-8")
    assert import_assets(engine, sheet).changed == 1

    every = api.get(f"{PREFIX}/changes").json()["items"]
    assert [(c["column_name"], c["source"], c["run_id"]) for c in every] == [
        ("asset_name", "register", None),
        ("criticality", "cmms", run["run_id"]),
    ]
    register = api.get(f"{PREFIX}/changes", params={"source": "register"}).json()
    assert [c["new_value"] for c in register["items"]] == ["Renamed Pump"]
    cmms = api.get(f"{PREFIX}/assets/{quote(IDS[0])}/changes", params={"source": "cmms"})
    assert [c["old_value"] for c in cmms.json()["items"]] == ["Was-Low"]
    assert api.get(f"{PREFIX}/changes", params={"source": "excel"}).status_code == 422
    page = api.get(f"/assets/{quote(IDS[0], safe='')}").text
    entries = page.split('class="timeline-entry"')[1:]
    assert len(entries) == 2  # newest first: the import, then the run
    assert "import" in entries[0] and 'source-register">register' in entries[0]
    assert f"run {run['run_id']}</a>" in entries[1] and 'source-cmms">cmms' in entries[1]
    with engine.connect() as conn:
        assert read.run_change_counts(conn, run["run_id"]) == [("criticality", 1)]
        counts = {(c.column_name, c.source) for c in read.change_counts(conn)}
    assert counts == {("criticality", "cmms"), ("asset_name", "register")}


def test_a_batched_api_run_says_how_many_assets_it_left_and_where_the_next_batch_starts(
    engine: sa.Engine, api: TestClient
) -> None:
    seed_assets(engine, IDS)

    first = api.post(f"{PREFIX}/sync", params={"batch": 2}).json()
    last = api.post(f"{PREFIX}/sync", params={"batch": 2, "offset": first["next_offset"]}).json()

    assert (first["total"], first["remaining"], first["next_offset"]) == (2, 1, 2)
    assert (last["total"], last["remaining"], last["next_offset"]) == (1, 0, None)
    page = api.get(f"/runs/{first['run_id']}")
    assert page.status_code == 200
    assert "1 asset left after this batch" in page.text and "offset=2" in page.text
    assert "left after this batch" not in api.get(f"/runs/{last['run_id']}").text
