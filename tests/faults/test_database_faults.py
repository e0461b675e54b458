"""The database going away under a run: a killed backend, a network cut of a few seconds, a
database that never comes back, and a locked SQLite file."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ic3sync.db import engine as engine_module
from ic3sync.db.engine import make_engine
from ic3sync.db.lock import ADVISORY_KEY, RunLock
from ic3sync.db.migrate import upgrade
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection, SyncResult
from ic3sync.sync import guards, run_sync
from tests.faults.checks import count_mismatches, duplicates, half_written, leaks, tracebacks
from tests.faults.conftest import through
from tests.helpers import TOKEN, OnOutcome, client_for, seed_assets, table_rows
from tests.netproxy import TcpProxy
from tests.procs import base_env, run_cli, simulator_process, start_cli

IDS = [f"DB fault_{n:03d}" for n in range(30)]
RESULT_FIELDS = ("run_id", "total", "success", "failed", "skipped", "errors", "duration_ms")


@pytest.fixture
def slow_simulator() -> Iterator[Simulator]:
    # 40 ms an answer: a run of 30 assets lasts over a second, long enough to hit mid-run.
    with Simulator(SimulatorConfig(token=TOKEN, latency_ms=40)) as sim:
        yield sim


def _run_with(
    engine: sa.Engine, sim: Simulator, fault: Callable[[], None], **kw: object
) -> SyncResult:
    """Run the sync while `fault` fires from another thread once a few assets are done."""
    done = threading.Event()

    def after_some(outcome: object) -> None:
        if len(seen) == 5:
            done.set()
        seen.append(outcome)

    seen: list[object] = []
    worker = threading.Thread(target=lambda: (done.wait(30), fault()))
    worker.start()
    try:
        with client_for(sim.url) as client:
            observer = OnOutcome(after_some)
            return run_sync(engine, client, trigger="cli", observer=observer, **kw)  # type: ignore[arg-type]
    finally:
        done.set()
        worker.join()


def _verify(url: str, result: SyncResult) -> dict[str, int]:
    engine = make_engine(url)
    try:
        dupes = duplicates(engine)
        half = half_written(engine)
        counts = count_mismatches(engine, result.run_id, result)
        leaked = leaks(engine, [str(result.as_dict())])
    finally:
        engine.dispose()
    assert dupes == [] and half == [] and counts == [] and leaked == []
    return {"duplicates": len(dupes), "half_written": len(half), "leaks": len(leaked)}


def _terminate_backends(url: str) -> int:
    """Kill every backend connected to the run's database, as an operator or OOM killer might."""
    name = sa.make_url(url).database
    admin = sa.create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :d AND pid <> pg_backend_pid()"
                    ),
                    {"d": name},
                ).all()
            )
    finally:
        admin.dispose()


def test_a_terminated_backend_is_replaced_and_the_run_completes(pg_url, slow_simulator, ledger):
    direct = make_engine(pg_url)
    seed_assets(direct, IDS)
    killed: list[int] = []
    engine = make_engine(pg_url)
    try:
        result = _run_with(
            engine, slow_simulator, lambda: killed.append(_terminate_backends(pg_url))
        )
    finally:
        engine.dispose()

    assert killed and killed[0] >= 1
    assert (result.status, result.success, result.failed) == ("completed", len(IDS), 0), result
    assert table_rows(direct, "cmms_sync_run")[0]["status"] == "completed"
    direct.dispose()
    figures = _verify(pg_url, result)
    ledger.record("database", injected={"backend terminated": 1}, recovered=1, **figures)


def test_a_network_cut_of_two_seconds_is_ridden_out(pg_url, proxy, slow_simulator, ledger):
    direct = make_engine(pg_url)
    seed_assets(direct, IDS)
    direct.dispose()

    def cut_for_two_seconds() -> None:
        proxy.cut()
        time.sleep(2)
        proxy.restore()

    engine = make_engine(through(pg_url, proxy))
    try:
        result = _run_with(engine, slow_simulator, cut_for_two_seconds)
    finally:
        engine.dispose()

    assert proxy.cuts >= 1
    assert (result.status, result.success, result.failed) == ("completed", len(IDS), 0), result
    figures = _verify(pg_url, result)
    ledger.record("database", injected={"network cut 2 s": 1}, recovered=1, **figures)


def test_a_database_that_stays_down_aborts_the_run_with_a_clear_message(
    pg_url, proxy, slow_simulator, ledger
):
    direct = make_engine(pg_url)
    seed_assets(direct, IDS)
    direct.dispose()
    engine = make_engine(through(pg_url, proxy))
    try:
        started = time.monotonic()
        result = _run_with(engine, slow_simulator, proxy.cut, db_retry_s=3)
        took = time.monotonic() - started
    finally:
        engine.dispose()

    assert result.status == "aborted", result
    assert result.error and "database" in result.error and "Traceback" not in result.error
    assert took < 30
    proxy.restore()
    # The run could not record its own end; the next start finds it dead and says so.
    engine = make_engine(pg_url)
    with engine.connect() as conn:
        run = conn.execute(sa.text("SELECT status FROM cmms_sync_run")).scalar_one()
    engine.dispose()
    assert run in ("running", "aborted")
    figures = _verify_no_half_written(pg_url)
    ledger.record("database", injected={"database down for good": 1}, logged=1, **figures)


def _verify_no_half_written(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        dupes, half = duplicates(engine), half_written(engine)
    finally:
        engine.dispose()
    assert dupes == [] and half == []
    return {"duplicates": 0, "half_written": 0}


def test_a_run_that_lost_its_lock_to_another_during_an_outage_stops(
    pg_url, proxy, slow_simulator, ledger
):
    direct = make_engine(pg_url)
    seed_assets(direct, IDS)
    taken: list[bool] = []
    rival = RunLock(direct)

    def cut_and_take_the_lock() -> None:
        proxy.cut()
        # The run's lock died with its connection; a second run starting now gets it.
        deadline = time.monotonic() + 5
        while not (got := rival.acquire()) and time.monotonic() < deadline:
            time.sleep(0.05)
        taken.append(got)
        proxy.restore()

    engine = make_engine(through(pg_url, proxy))
    try:
        result = _run_with(engine, slow_simulator, cut_and_take_the_lock)
    finally:
        rival.release()
        engine.dispose()
        direct.dispose()

    assert taken == [True]
    assert result.status == "aborted" and "run lock" in (result.error or ""), result
    figures = _verify(pg_url, result)
    ledger.record("database", injected={"run lock lost in an outage": 1}, logged=1, **figures)


def _hold_sqlite_write_lock(path: Path, seconds: float, started: threading.Event) -> None:
    # A second program writing to the file: BEGIN IMMEDIATE takes the write lock until commit.
    other = sqlite3.connect(path, timeout=30)
    other.execute("BEGIN IMMEDIATE")
    started.set()
    time.sleep(seconds)
    other.rollback()
    other.close()


def test_a_briefly_locked_sqlite_file_is_waited_for(tmp_path, slow_simulator, ledger):
    held_s = 1.0
    url = f"sqlite:///{tmp_path / 'ic3sync.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_assets(engine, IDS)
    locked = threading.Event()
    holder = threading.Thread(
        target=_hold_sqlite_write_lock, args=(tmp_path / "ic3sync.db", held_s, locked)
    )
    try:
        result = _run_with(engine, slow_simulator, lambda: (holder.start(), locked.wait(5)))
    finally:
        holder.join()
        engine.dispose()
    assert (result.status, result.success) == ("completed", len(IDS)), result
    figures = _verify(url, result)
    ledger.record("database", injected={"sqlite file locked 1 s": 1}, recovered=1, **figures)


def test_a_sqlite_file_that_stays_locked_aborts_the_run_naming_the_lock(
    tmp_path, slow_simulator, ledger, monkeypatch
):
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 500)
    url = f"sqlite:///{tmp_path / 'ic3sync.db'}"
    engine = make_engine(url)
    upgrade(engine)
    seed_assets(engine, IDS)
    locked = threading.Event()
    holder = threading.Thread(
        target=_hold_sqlite_write_lock, args=(tmp_path / "ic3sync.db", 3.0, locked)
    )
    try:
        result = _run_with(engine, slow_simulator, lambda: (holder.start(), locked.wait(5)))
    finally:
        holder.join()
    assert result.status == "aborted", result
    assert "locked" in (result.error or "") and "0.5 s" in (result.error or ""), result
    # The lock is gone now: the next run marks the dead one and syncs what is left.
    with client_for(slow_simulator.url) as client:
        rerun = run_sync(engine, client, trigger="cli", selection=AssetSelection())
    engine.dispose()
    assert rerun.status == "completed"
    figures = _verify_no_half_written(url)
    ledger.record("database", injected={"sqlite file locked for good": 1}, logged=1, **figures)


def _cli_run_through(proxy: TcpProxy, pg_url: str, tmp_path: Path, down_s: float) -> tuple:
    """`ic3sync sync --json` through the proxy; the database is cut for `down_s` seconds
    (for good when it is infinite) once a few assets are logged."""
    env = base_env(through(pg_url, proxy))
    watcher = make_engine(pg_url)
    with simulator_process(tmp_path, latency_ms=40) as api:
        env["INNOMAINT_API_URL"] = api
        proc = start_cli("sync", "--json", env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with watcher.connect() as conn:
                if conn.execute(sa.text("SELECT COUNT(*) FROM cmms_sync_log")).scalar_one() >= 5:
                    break
            time.sleep(0.02)
        proxy.cut()
        if down_s != float("inf"):
            time.sleep(down_s)
            proxy.restore()
        out, errs = proc.communicate(timeout=120)
        proxy.restore()
        # The next start, on a database that answers again.
        rerun = run_cli("sync", "--json", env=env)
    watcher.dispose()
    return proc.returncode, out, errs, rerun


@pytest.mark.faults_full
def test_the_cli_rides_out_a_cut_of_two_seconds(pg_url, proxy, tmp_path, ledger):
    seed = make_engine(pg_url)
    seed_assets(seed, IDS)
    seed.dispose()
    code, out, errs, rerun = _cli_run_through(proxy, pg_url, tmp_path, 2.0)
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 0, errs
    assert (result["status"], result["success"]) == ("completed", len(IDS))
    assert "database connection lost" in errs and "database back" in errs
    assert tracebacks([out, errs, rerun.stdout, rerun.stderr]) == []
    figures = _verify(pg_url, SyncResult(**{k: result[k] for k in RESULT_FIELDS}))
    ledger.record("database", injected={"network cut 2 s (CLI)": 1}, recovered=1, **figures)


@pytest.mark.faults_full
def test_the_cli_aborts_with_a_clear_message_when_the_database_stays_down(
    pg_url, proxy, tmp_path, ledger
):
    seed = make_engine(pg_url)
    seed_assets(seed, IDS)
    seed.dispose()
    code, out, errs, rerun = _cli_run_through(proxy, pg_url, tmp_path, float("inf"))
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 1, errs
    assert result["status"] == "aborted"
    assert "database unreachable for 30 s" in result["error"], result
    assert "database unreachable for 30 s" in errs
    outputs = [out, errs, rerun.stdout, rerun.stderr]
    assert tracebacks(outputs) == []
    assert rerun.returncode == 0, rerun.stderr
    assert "interrupted" in rerun.stderr  # the next start names the dead run
    engine = make_engine(pg_url)
    runs = table_rows(engine, "cmms_sync_run", "run_id")
    engine.dispose()
    assert [r["status"] for r in runs] == ["interrupted", "completed"]
    figures = _verify_no_half_written(pg_url)
    ledger.record(
        "database",
        injected={"database down for good (CLI)": 1},
        logged=1,
        tracebacks=len(tracebacks(outputs)),
        **figures,
    )


def _terminate_lock_holder(url: str) -> int:
    """Kill only the backend holding the run's advisory lock: the idle connection that an
    idle_session_timeout or a firewall would end first."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                        "JOIN pg_database d ON d.oid = l.database "
                        "WHERE l.locktype = 'advisory' AND l.objid = :k AND l.granted "
                        "AND d.datname = current_database()"
                    ),
                    {"k": ADVISORY_KEY},
                ).all()
            )
    finally:
        engine.dispose()


def test_a_run_whose_idle_lock_connection_is_killed_stops_if_another_run_takes_the_lock(
    pg_url, slow_simulator, ledger, monkeypatch
):
    monkeypatch.setattr(guards, "LOCK_CHECK_S", 0.1)
    direct = make_engine(pg_url)
    seed_assets(direct, IDS)
    rival = RunLock(direct)
    taken: list[tuple[int, bool]] = []

    def kill_lock_and_take_it() -> None:
        killed = _terminate_lock_holder(pg_url)
        deadline = time.monotonic() + 5
        while not (got := rival.acquire()) and time.monotonic() < deadline:
            time.sleep(0.01)
        taken.append((killed, got))

    engine = make_engine(pg_url)
    try:
        result = _run_with(engine, slow_simulator, kill_lock_and_take_it)
    finally:
        rival.release()
        engine.dispose()
        direct.dispose()

    assert taken == [(1, True)]
    assert result.status == "aborted" and "run lock" in (result.error or ""), result
    assert result.success < len(IDS)
    figures = _verify(pg_url, result)
    ledger.record("database", injected={"idle lock connection terminated": 1}, logged=1, **figures)
