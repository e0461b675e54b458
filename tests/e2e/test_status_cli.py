"""`ic3sync status` as a monitor runs it, a process, on SQLite and PostgreSQL: one line and the
Nagios exit codes (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), and the same facts as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.db.migrate import head_revision, migrate_to
from ic3sync.db.schema import sync_run
from tests.procs import base_env, run_cli


def _run(engine: sa.Engine, *, hours_ago: float = 1, **values: Any) -> int:
    finished = datetime.now(UTC) - timedelta(hours=hours_ago)
    row = {
        "trigger": "schedule",
        "scope": "full",
        "status": "completed",
        "total": 10,
        "success": 10,
        "started_at": finished - timedelta(minutes=30),
        "finished_at": finished,
        "duration_ms": 1_800_000,
        **values,
    }
    with engine.begin() as conn:
        return conn.execute(
            sa.insert(sync_run).values(row).returning(sync_run.c.run_id)
        ).scalar_one()


def _status(db_url: str, **env: str) -> tuple[int, str, dict[str, Any]]:
    line = run_cli("status", env=base_env(db_url, **env))
    as_json = run_cli("status", "--json", env=base_env(db_url, **env))
    assert line.returncode == as_json.returncode, (line.stdout, as_json.stdout)
    assert len(line.stdout.splitlines()) == 1, line.stdout
    return line.returncode, line.stdout.strip(), json.loads(as_json.stdout)


def test_a_recent_clean_full_run_is_ok_and_a_batch_after_it_changes_nothing(
    engine, migrated_db_url
):
    full = _run(engine, hours_ago=2)
    _run(engine, hours_ago=0.5, scope="asset", total=1, success=0, failed=1)
    code, line, body = _status(migrated_db_url)
    assert code == 0, line
    assert line.startswith(f"IC3SYNC OK - last full run {full} completed ")
    assert body["status"] == "OK" and body["problems"] == []
    assert body["database_reachable"] is True
    assert body["schema_revision"] == body["schema_head"]
    assert (body["last_full_run"]["run_id"], body["stale"]) == (full, False)
    assert 1.9 <= body["hours_since_full_run"] <= 2.1
    assert body["running"] is None


def test_a_run_going_is_reported_with_its_progress(engine, migrated_db_url):
    _run(engine)
    going = _run(engine, hours_ago=0, status="running", finished_at=None, total=40, success=0)
    code, line, body = _status(migrated_db_url)
    assert code == 0, line
    assert f"run {going} going: 0 of 40" in line
    assert body["running"] == {
        "run_id": going,
        "scope": "full",
        "done": 0,
        "total": 40,
        "progress_pct": 0.0,
    }


def test_failures_in_the_last_full_run_are_a_warning(engine, migrated_db_url):
    _run(engine, success=7, failed=3)
    code, line, body = _status(migrated_db_url)
    assert code == 1
    assert line.startswith("IC3SYNC WARNING - 3 assets failed in the last full run;")
    assert body["status"] == "WARNING"


def test_stale_data_is_a_warning_after_ic3_stale_after_h(engine, migrated_db_url):
    _run(engine, hours_ago=5)
    assert _status(migrated_db_url)[0] == 0
    code, line, body = _status(migrated_db_url, IC3_STALE_AFTER_H="4")
    assert code == 1
    assert "stale: no full run has completed for 5 h (IC3_STALE_AFTER_H=4)" in line
    assert (body["stale"], body["stale_after_h"]) == (True, 4)


def test_a_database_without_a_full_run_is_stale(engine, migrated_db_url):
    _run(engine, scope="partial")
    code, line, _ = _status(migrated_db_url)
    assert (code, line) == (
        1,
        f"IC3SYNC WARNING - stale: no full run has completed yet; schema {head_revision()}",
    )


def test_an_aborted_last_full_run_is_critical(engine, migrated_db_url):
    _run(engine, hours_ago=30)
    aborted = _run(engine, status="aborted", success=0, error="Innomaint rejected the token")
    code, line, body = _status(migrated_db_url)
    assert code == 2
    assert line.startswith(f"IC3SYNC CRITICAL - the last full run {aborted} was aborted;")
    # The older completed run still dates the data.
    assert body["stale"] is True


def test_a_schema_behind_the_code_is_critical(db_url):
    engine = make_engine(db_url)
    try:
        migrate_to(engine, "0007")
    finally:
        engine.dispose()
    code, line, body = _status(db_url)
    assert code == 2
    assert f"schema at revision 0007, not {head_revision()}: run `ic3sync migrate`" in line
    assert (body["database_reachable"], body["schema_revision"]) == (True, "0007")


def test_an_unreachable_database_is_critical():
    code, line, body = _status("postgresql://127.0.0.1:1/x")
    assert code == 2
    assert line.startswith("IC3SYNC CRITICAL - database unreachable: ")
    assert body["database_reachable"] is False


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_settings_that_do_not_read_are_unknown(migrated_db_url):
    code, line, body = _status(migrated_db_url, IC3_STALE_AFTER_H="0")
    assert code == 3
    assert line.startswith("IC3SYNC UNKNOWN - invalid configuration: IC3_STALE_AFTER_H")
    assert body["status"] == "UNKNOWN"
