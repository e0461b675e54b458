"""The sync process dying (kill -9) or being stopped (SIGTERM, Ctrl-C) at random moments of a
run, over and over on one register: nothing half-written, nothing duplicated, every dead run
marked `interrupted`, every stopped one `cancelled` with its counts, and a re-run finishes."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from tests.faults.checks import count_mismatches, duplicates, half_written, leaks, tracebacks
from tests.faults.conftest import BACKENDS
from tests.helpers import seed_assets, table_rows
from tests.procs import base_env, run_cli, simulator_process, start_cli

IDS = [f"Crash test_{n:04d}" for n in range(150)]


@pytest.fixture
def register_url(migrated_db_url: str) -> str:
    """db_url, migrated and holding IDS."""
    engine = make_engine(migrated_db_url)
    seed_assets(engine, IDS)
    engine.dispose()
    return migrated_db_url


def _run_started(engine: sa.Engine, runs_before: int) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(sa.text("SELECT COUNT(*) FROM cmms_sync_run")).scalar_one() > runs_before
        )


def _in_write_transaction(engine: sa.Engine, database: str) -> bool:
    """True while a backend of the run holds a transaction that has written (has an xid)."""
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = :d "
                    "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                ),
                {"d": database},
            ).first()
        )


def _kill_cycles(url: str, env: dict[str, str], kills: int, rng: random.Random) -> dict[str, int]:
    """Start a run and kill -9 it, `kills` times; check the tables after every kill."""
    engine = make_engine(url)
    postgres = engine.dialect.name == "postgresql"
    database = sa.make_url(url).database or ""
    landed = {"kill -9 at a random moment": 0, "kill -9 inside a write transaction": 0}
    half = dupes = 0
    try:
        while sum(landed.values()) < kills:
            runs_before = len(table_rows(engine, "cmms_sync_run"))
            proc = start_cli("sync", "--json", env=env)
            deadline = time.monotonic() + 30
            while not _run_started(engine, runs_before) and time.monotonic() < deadline:
                time.sleep(0.01)
            # Every other kill, on PostgreSQL, waits for a write transaction to be open.
            mid_write = postgres and sum(landed.values()) % 2 == 1
            if mid_write:
                until = time.monotonic() + rng.uniform(0.05, 1.5)
                while not _in_write_transaction(engine, database) or time.monotonic() < until:
                    if proc.poll() is not None:
                        break
            else:
                time.sleep(rng.uniform(0.0, 1.5))
            if proc.poll() is not None:
                proc.communicate()
                continue  # the run ended before the kill: not a kill, go again
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            if table_rows(engine, "cmms_sync_run", "run_id")[-1]["status"] != "running":
                continue  # killed on its way out, after the run was recorded: not mid-run
            landed[
                "kill -9 inside a write transaction" if mid_write else "kill -9 at a random moment"
            ] += 1
            bad = half_written(engine)
            doubled = duplicates(engine)
            assert bad == [] and doubled == [], (bad[:5], doubled[:5])
            half += len(bad)
            dupes += len(doubled)
    finally:
        engine.dispose()
    return {"half_written": half, "duplicates": dupes, **landed}


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
@pytest.mark.parametrize("kills", [2, pytest.param(24, marks=pytest.mark.faults_full)])
def test_kill_9_at_random_moments_leaves_no_half_written_asset(
    register_url, tmp_path, kills, ledger
):
    rng = random.Random(kills * 7919)
    env = base_env(register_url)
    with simulator_process(tmp_path, latency_ms=5) as api:
        env["INNOMAINT_API_URL"] = api
        figures = _kill_cycles(register_url, env, kills, rng)
        only_failed = run_cli("sync", "--only-failed", "--json", env=env)
        full = run_cli("sync", "--json", env=env)
    outputs = [only_failed.stdout, only_failed.stderr, full.stdout, full.stderr]
    assert only_failed.returncode == 0, only_failed.stderr
    assert full.returncode == 0, full.stderr

    engine = make_engine(register_url)
    try:
        runs = table_rows(engine, "cmms_sync_run", "run_id")
        masters = table_rows(engine, "ic3_asset_master")
        last = json.loads(full.stdout.strip().splitlines()[-1])
        # --only-failed records no run when nothing had failed (it matched no asset).
        rerun = json.loads(only_failed.stdout.strip().splitlines()[-1])
        tail = 1 if rerun["status"] == "no_match" else 2
        counts = count_mismatches(engine, last["run_id"])
        half, dupes = half_written(engine), duplicates(engine)
        leaked = leaks(engine, outputs)
    finally:
        engine.dispose()
    killed = [r for r in runs[:-tail] if r["status"] != "completed"]
    assert len(killed) == sum(v for k, v in figures.items() if k.startswith("kill"))
    assert all(r["status"] == "interrupted" for r in killed), [r["status"] for r in killed]
    assert [r["status"] for r in runs[-tail:]] == ["completed"] * tail
    assert last["success"] == len(IDS) and all(m["sync_version"] >= 1 for m in masters)
    assert counts == [] and half == [] and dupes == [] and leaked == []
    assert tracebacks(outputs) == []
    ledger.record(
        "crash (kill -9)",
        injected={k: v for k, v in figures.items() if k.startswith("kill")},
        recovered=len(killed),
        duplicates=len(dupes),
        half_written=len(half),
        leaks=len(leaked),
    )


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
@pytest.mark.parametrize(
    ("sig", "stops"),
    [
        (signal.SIGTERM, 1),
        pytest.param(signal.SIGINT, 1, marks=pytest.mark.faults_full),
        pytest.param(signal.SIGTERM, 10, marks=pytest.mark.faults_full),
        pytest.param(signal.SIGINT, 10, marks=pytest.mark.faults_full),
    ],
)
def test_a_stop_signal_at_a_random_moment_cancels_with_the_right_counts(
    register_url, tmp_path, sig, stops, ledger
):
    rng = random.Random(int(sig) * 104729 + stops)
    env = base_env(register_url)
    outputs: list[str] = []
    landed = 0
    with simulator_process(tmp_path, latency_ms=5) as api:
        env["INNOMAINT_API_URL"] = api
        engine = make_engine(register_url)
        try:
            while landed < stops:
                runs_before = len(table_rows(engine, "cmms_sync_run"))
                proc = start_cli("sync", "--json", env=env)
                while not _run_started(engine, runs_before) and proc.poll() is None:
                    time.sleep(0.01)
                time.sleep(rng.uniform(0.0, 1.5))
                if proc.poll() is not None:
                    outputs.extend(proc.communicate())
                    continue
                proc.send_signal(sig)
                out, errs = proc.communicate(timeout=30)
                outputs.extend([out, errs])
                result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
                if result.get("status") == "completed" or not result:
                    # The signal landed after the run had ended (or during interpreter exit):
                    # nothing left to stop.
                    assert result.get("success", len(IDS)) == len(IDS), result
                    continue
                landed += 1
                assert proc.returncode == 130, errs
                assert result["status"] == "cancelled"
                assert result["success"] + result["failed"] + result["skipped"] == len(IDS)
                assert count_mismatches(engine, result["run_id"]) == []
                assert half_written(engine) == [] and duplicates(engine) == []
            leaked = leaks(engine, outputs)
        finally:
            engine.dispose()
    assert leaked == [] and tracebacks(outputs) == []
    ledger.record(
        "graceful stop",
        injected={signal.Signals(sig).name: landed},
        recovered=landed,
    )
