"""The read queries behind the dashboard, on SQLite and PostgreSQL: register health, failures
grouped, runs by trigger, a run's log searched by part of an asset id."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ic3sync.db.read import (
    failure_groups,
    list_runs,
    register_customers,
    register_health,
    run_log,
)
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets

IDS = ["Plant 01_PUMP_01", "Plant 02_PUMP_02", "Site 10%_A_01", "Site 1_A_01", "Gone_01"]
FAULTS = {"Gone_01": "not_found", "Plant 02_PUMP_02": "status_false"}


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN, faults=FAULTS)) as sim:
        yield sim


def _sync(engine: sa.Engine, sim: Simulator, trigger: str = "cli") -> int:
    with client_for(sim.url) as client:
        return run_sync(engine, client, trigger=trigger).run_id


def test_register_health_counts_each_asset_by_its_latest_outcome(engine, simulator):
    seed_assets(engine, IDS)
    seed_assets(engine, ["Never_01"], customer_id=99, start_seq=100)
    with engine.connect() as conn:
        before = register_health(conn)
        customers = register_customers(conn)
    assert (before.total, before.never_synced, before.last_ok, before.last_failed) == (6, 6, 0, 0)
    assert before.oldest_synced_at is None
    assert [(c.customer_id, c.assets) for c in customers] == [(99, 1), (24463, 5)]

    started = datetime.now(UTC)
    _sync(engine, simulator)
    with engine.connect() as conn:
        health = register_health(conn)
    # Never_01 synced too: every asset has an outcome now, two of them failures.
    assert (health.total, health.last_ok, health.last_failed, health.never_synced) == (6, 4, 2, 0)
    assert health.oldest_synced_at is not None and health.oldest_synced_at >= started


def test_an_asset_that_failed_after_a_success_counts_as_failed(engine, simulator):
    seed_assets(engine, ["Flaky_01"])
    _sync(engine, simulator)
    simulator.config.faults["Flaky_01"] = {"kind": "not_found"}
    _sync(engine, simulator)
    with engine.connect() as conn:
        health = register_health(conn)
    assert (health.last_ok, health.last_failed, health.never_synced) == (0, 1, 0)


def test_failures_are_grouped_by_status_and_message(engine, simulator):
    seed_assets(engine, IDS)
    run_id = _sync(engine, simulator)
    with engine.connect() as conn:
        groups = failure_groups(conn, run_id)
    assert sorted((g.http_status, g.count) for g in groups) == [(200, 1), (404, 1)]
    assert any(g.error_message and "status" in g.error_message for g in groups)


def test_runs_filter_by_trigger_and_the_log_by_part_of_an_id(engine, simulator):
    seed_assets(engine, IDS)
    first = _sync(engine, simulator, trigger="cli")
    second = _sync(engine, simulator, trigger="schedule")
    with engine.connect() as conn:
        assert [r.run_id for r in list_runs(conn, trigger="schedule").items] == [second]
        assert list_runs(conn, trigger="cli").total == 1
        assert list_runs(conn, trigger="api").total == 0

        def found(search: str, **kw: object) -> list[str]:
            page = run_log(conn, first, search=search, **kw)  # type: ignore[arg-type]
            return [r.cmms_asset_id for r in page.items]

        assert found("plant") == ["Plant 01_PUMP_01", "Plant 02_PUMP_02"]
        assert found("plant", status="failed") == ["Plant 02_PUMP_02"]
        # % and _ are searched for as written, not as LIKE wildcards.
        assert found("10%") == ["Site 10%_A_01"]
        assert found("1_a") == ["Site 1_A_01"]
        assert found("nothing like it") == []
