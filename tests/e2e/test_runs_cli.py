"""`ic3sync runs` and `ic3sync runs show N` as processes, piped, on SQLite and PostgreSQL: the
run history newest first, and one run's failures by kind, as tables and as JSON."""

from __future__ import annotations

import json

import sqlalchemy as sa

from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets
from tests.procs import base_env, run_cli

IDS = [f"Runs {n:02d}_PUMP_{n:02d}" for n in range(1, 11)]
# Seven assets Innomaint does not know and one it answers "status": false for.
MISSING = IDS[2:9]
REFUSED = IDS[9]
FAULTS = {**dict.fromkeys(MISSING, "not_found"), REFUSED: "status_false"}


def _history(engine: sa.Engine) -> None:
    """Run 1: full, 8 failed; run 2: one asset; run 3: a batch of 3 with one failure."""
    seed_assets(engine, IDS)
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults=FAULTS)) as sim,
        client_for(sim.url) as client,
    ):
        run_sync(engine, client, trigger="cli")
        run_sync(engine, client, trigger="api", selection=AssetSelection(cmms_asset_id=IDS[0]))
        run_sync(engine, client, trigger="schedule", selection=AssetSelection(batch=3))


def test_the_run_history_is_listed_newest_first_wide_when_piped(engine, migrated_db_url):
    _history(engine)
    proc = run_cli("runs", env=base_env(migrated_db_url))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = lines[0].split()
    for name in ("run", "trigger", "scope", "status", "total", "synced", "failed", "started"):
        assert name in header, lines[0]
    rows = [line.split("│") for line in lines[2:5]]
    assert [[cell.strip() for cell in row[:8]] for row in rows] == [
        ["3", "schedule", "partial", "completed", "3", "2", "1", "0"],
        ["2", "api", "asset", "completed", "1", "1", "0", "0"],
        ["1", "cli", "full", "completed", "10", "2", "8", "0"],
    ]
    # Piped, a row is never cut to 80 columns: its start time is whole.
    assert all(row[8].strip().count(":") == 2 for row in rows), lines
    assert lines[5] == "3 of 3 runs"

    filtered = run_cli("runs", "--scope", "full", "--json", env=base_env(migrated_db_url))
    page = json.loads(filtered.stdout)
    assert [r["run_id"] for r in page["items"]] == [1] and page["total"] == 1
    limited = run_cli("runs", "--limit", "2", "--json", env=base_env(migrated_db_url))
    assert [r["run_id"] for r in json.loads(limited.stdout)["items"]] == [3, 2]
    running = run_cli("runs", "--status", "running", env=base_env(migrated_db_url))
    assert running.stdout.splitlines() == ["0 of 0 runs"]


def test_a_runs_failures_are_grouped_by_kind_with_the_first_assets(engine, migrated_db_url):
    _history(engine)
    proc = run_cli("runs", "show", "1", env=base_env(migrated_db_url))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.startswith("Run 1: completed, full run started by cli\n")
    assert "  2 synced, 8 failed, 0 skipped of 10\n" in out
    first = ", ".join(MISSING[:5])
    assert f"  7 http 404: {first} and 2 more\n" in out
    assert f"  1 status false: {REFUSED}\n" in out
    assert "`ic3sync runs show 1 --failed` lists them all" in out

    every = run_cli("runs", "show", "1", "--failed", env=base_env(migrated_db_url))
    listed = [line.split("│")[0].strip() for line in every.stdout.splitlines() if "│" in line]
    assert listed == [*MISSING, REFUSED]
    assert every.stdout.splitlines()[-1] == "8 failed assets"

    body = json.loads(
        run_cli("runs", "show", "1", "--failed", "--json", env=base_env(migrated_db_url)).stdout
    )
    assert (body["run"]["scope"], body["run"]["failed"]) == ("full", 8)
    kinds = {k["error_kind"]: k for k in body["failure_kinds"]}
    assert kinds["http_404"]["count"] == 7 and kinds["http_404"]["first_assets"] == MISSING[:5]
    assert [f["cmms_asset_id"] for f in body["failed"]] == [*MISSING, REFUSED]


def test_an_unknown_run_or_status_is_refused_with_a_message(migrated_db_url):
    env = base_env(migrated_db_url)
    missing = run_cli("runs", "show", "99", env=env)
    assert (missing.returncode, missing.stderr.strip()) == (1, "error: run 99 does not exist")
    bad = run_cli("runs", "--status", "done", env=env)
    assert bad.returncode == 1 and "--status takes one of running, completed" in bad.stderr
