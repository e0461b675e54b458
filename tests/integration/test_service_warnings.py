"""What the service warns of without failing: /healthz and the overview when no full run has
completed for IC3_STALE_AFTER_H, and a scheduled tick that started no run, on the overview.
In process (FastAPI's TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ic3sync.api import create_app
from ic3sync.bootstrap import bootstrap
from ic3sync.config import Settings
from ic3sync.db.lock import RunLock
from ic3sync.db.schema import sync_run
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets

IDS = ["Fresh 01_PUMP_01", "Fresh 02_PUMP_02"]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN)) as simulator:
        yield simulator


@pytest.fixture
def app(engine: sa.Engine, migrated_db_url: str, sim: Simulator) -> FastAPI:
    settings = Settings(
        database_url=migrated_db_url, api_url=sim.url, api_token=TOKEN, rate_ms=0, stale_after_h=26
    )
    # Without the lifespan: no scheduler or staleness watch, the routes alone.
    return create_app(bootstrap(settings, engine=engine))


def _full_run_finished(engine: sa.Engine, sim: Simulator, ago: timedelta) -> None:
    with client_for(sim.url) as client:
        result = run_sync(engine, client, trigger="schedule")
    assert (result.status, result.success) == ("completed", len(IDS))
    with engine.begin() as conn:
        conn.execute(
            sa.update(sync_run)
            .where(sync_run.c.run_id == result.run_id)
            .values(finished_at=datetime.now(UTC) - ago)
        )


def test_healthz_and_the_overview_warn_while_no_full_run_completed_for_the_stale_hours(
    engine: sa.Engine, app: FastAPI, sim: Simulator
) -> None:
    http = TestClient(app, base_url="http://127.0.0.1")
    seed_assets(engine, IDS)

    never = http.get("/healthz")
    assert never.status_code == 200
    assert never.json()["stale"] is True
    assert never.json()["warning"] == "no full run has completed yet"

    _full_run_finished(engine, sim, timedelta(hours=30))
    old = http.get("/healthz").json()
    assert old["stale"] is True and "for 30 hours (IC3_STALE_AFTER_H is 26)" in old["warning"]
    assert "Stale: no full run has completed for 30 hours" in http.get("/").text

    _full_run_finished(engine, sim, timedelta(hours=1))
    fresh = http.get("/healthz")
    assert fresh.status_code == 200
    assert (fresh.json()["stale"], fresh.json()["warning"]) == (False, None)
    assert fresh.json()["last_full_run_completed_at"] is not None
    assert 'id="stale-warning"' not in http.get("/").text


def test_a_scheduled_tick_that_started_no_run_is_shown_on_the_overview(
    engine: sa.Engine, app: FastAPI
) -> None:
    http = TestClient(app, base_url="http://127.0.0.1")
    manager = app.state.manager
    seed_assets(engine, IDS)
    assert 'id="schedule-events"' not in http.get("/").text

    with RunLock(engine) as held:  # another process's run is going
        assert held
        manager.scheduled_tick()
    manager.tick_missed(datetime(2026, 12, 7, 1, 0, tzinfo=UTC), timedelta(minutes=95))

    page = http.get("/").text
    assert page.count("Scheduled run skipped") == 1
    assert "Scheduled run missed" in page and "it started 95 minutes late" in page
    assert page.index("Scheduled run missed") < page.index("Scheduled run skipped")
    assert [e.kind for e in manager.schedule_events()] == ["missed", "skipped"]
