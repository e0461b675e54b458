"""A run on a pooled PostgreSQL connection whose prepared statements are gone (psycopg runs
DEALLOCATE ALL after a rollback of its own, and a pooled connection outlives runs): every write
of the run prepares its statements again and goes on, the failed asset's log row as much as a
synced asset's rows. The service's runs share the engine's pool, which is how it was found: a
run that began with a failed asset ended as an error, and its request answered 500."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets, table_rows

GOOD = "Plant 01_PUMP_01"
GONE = "Gone 01_PUMP_01"


def _deallocate_everywhere(engine: sa.Engine) -> int:
    """DEALLOCATE ALL on every connection the pool holds; returns how many it held."""
    held = engine.pool.checkedin()  # type: ignore[attr-defined]
    conns = [engine.connect() for _ in range(held)]
    try:
        for conn in conns:
            conn.exec_driver_sql("DEALLOCATE ALL")
            conn.commit()
    finally:
        for conn in conns:
            conn.close()
    return held


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_runs_on_a_connection_that_lost_its_prepared_statements_write_every_row(engine):
    seed_assets(engine, [GOOD, GONE])
    config = SimulatorConfig(token=TOKEN, faults={GONE: "not_found"})
    runs = []
    with Simulator(config) as sim, client_for(sim.url) as client:
        first = run_sync(engine, client, trigger="cli")
        assert (first.success, first.failed) == (1, 1)
        runs.append(first)
        # The pool hands its connections out in turn: a few runs reach each of them again.
        for only_failed in (True, True, True, False, False, False):
            assert _deallocate_everywhere(engine) >= 1
            selection = AssetSelection(only_failed=only_failed)
            # With only_failed, the run's first write is the failed asset's log row; without, a
            # synced asset's rows.
            result = run_sync(engine, client, trigger="cli", selection=selection)
            expected = (0, 1) if only_failed else (1, 1)
            assert (result.status, result.success, result.failed) == ("completed", *expected), (
                result.errors
            )
            runs.append(result)

    logged = sorted(
        (r["run_id"], r["cmms_asset_id"], r["status"]) for r in table_rows(engine, "cmms_sync_log")
    )
    expected_rows = [(first.run_id, GOOD, "success"), (first.run_id, GONE, "failed")]
    for run in runs[1:]:
        if run.success:
            expected_rows.append((run.run_id, GOOD, "success"))
        expected_rows.append((run.run_id, GONE, "failed"))
    assert logged == sorted(expected_rows)
