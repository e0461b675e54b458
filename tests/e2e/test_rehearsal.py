"""A night rehearsed against `ic3sync simulator`: the change history it leaves is the one the
simulator made (--drift), never a phantom, and a wrong INNOMAINT_API_URL fails."""

from __future__ import annotations

from ic3sync.db.engine import make_engine
from ic3sync.innomaint.simulator import FIXTURE_ID
from tests.e2e.test_cli import registered
from tests.helpers import table_rows
from tests.procs import run_cli, simulator_process

DRIFTING = {
    "criticality",
    "in_charge_person",
    "ticketcount",
    "schedulecount",
    "total_ticket",
    "upto.ticket_count",
}


def test_a_rehearsal_records_the_drift_the_simulator_made_and_nothing_else(
    migrated_db_url, tmp_path
):
    ids = [FIXTURE_ID, *(f"Rehearsal_{n:03d}" for n in range(120))]
    env = registered(migrated_db_url, tmp_path, ids)
    with simulator_process(tmp_path, drift=3, seed=11) as api:
        env["INNOMAINT_API_URL"] = api
        first = run_cli("sync", env=env)
        second = run_cli("sync", env=env)
        wrong = run_cli("sync", env={**env, "INNOMAINT_API_URL": api.rsplit("/", 1)[0]})

    assert first.returncode == 0, first.stdout + first.stderr
    assert second.returncode == 0, second.stdout + second.stderr
    assert wrong.returncode == 3 and "404" in wrong.stdout, wrong.stdout + wrong.stderr
    engine = make_engine(migrated_db_url)
    try:
        changes = table_rows(engine, "ic3_asset_change")
    finally:
        engine.dispose()
    assert {row["run_id"] for row in changes} == {2}
    assert len({row["cmms_asset_id"] for row in changes}) == 3
    assert {row["column_name"] for row in changes} <= DRIFTING, changes
    assert "criticality" in {row["column_name"] for row in changes}
