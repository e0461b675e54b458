"""Log retention on SQLite and PostgreSQL: what goes and what stays, in batches, and the
`ic3sync prune` command as a process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ic3sync.db.retention import count_prunable, prune
from ic3sync.db.schema import asset_change, asset_master, sync_log, sync_run
from tests.helpers import seed_assets
from tests.procs import base_env, run_cli

NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def _run(conn: sa.Connection, days_ago: int, assets: list[str], status: str = "completed") -> int:
    started = NOW - timedelta(days=days_ago)
    run_id = conn.execute(
        sa.insert(sync_run)
        .values(
            trigger="schedule",
            scope="full",
            status=status,
            started_at=started,
            finished_at=started,
        )
        .returning(sync_run.c.run_id)
    ).scalar_one()
    if assets:
        conn.execute(
            sa.insert(sync_log),
            [
                {
                    "run_id": run_id,
                    "cmms_asset_id": a,
                    "status": "success",
                    "attempts": 1,
                    "synced_at": started + timedelta(seconds=i),
                }
                for i, a in enumerate(assets)
            ],
        )
    return run_id


def _history(engine: sa.Engine) -> tuple[set[int], list[tuple[int, str]]]:
    with engine.connect() as conn:
        runs = set(conn.execute(sa.select(sync_run.c.run_id)).scalars())
        logs = conn.execute(
            sa.select(sync_log.c.run_id, sync_log.c.cmms_asset_id).order_by(sync_log.c.log_id)
        ).all()
    return runs, [tuple(r) for r in logs]


def test_old_rows_go_and_each_assets_latest_row_and_the_change_history_stay(engine):
    seed_assets(engine, ["A"])
    with engine.begin() as conn:
        ancient = _run(conn, 400, ["A", "B", "C"])  # C's only row: stays, so does this run
        old = _run(conn, 200, ["A", "B"])  # superseded everywhere: run and rows go
        changed = _run(conn, 190, [])  # no log rows, but the history points at it
        empty = _run(conn, 185, [])  # nothing points at it: goes
        stuck = _run(conn, 300, [], status="running")  # never pruned while running
        recent = _run(conn, 10, ["A", "B"])
        asset_id = conn.execute(sa.select(asset_master.c.asset_id)).scalar_one()
        conn.execute(
            sa.insert(asset_change).values(
                run_id=changed, asset_id=asset_id, cmms_asset_id="A",
                table_name="ic3_asset_master", column_name="barcode",
                old_value="1", new_value="2", changed_at=NOW - timedelta(days=190),
                source="cmms",
            )
        )  # fmt: skip

    dry = count_prunable(engine, 180, now=NOW)
    assert _history(engine)[1] == [
        (ancient, "A"),
        (ancient, "B"),
        (ancient, "C"),
        (old, "A"),
        (old, "B"),
        (recent, "A"),
        (recent, "B"),
    ]
    done = prune(engine, 180, now=NOW, batch=2)

    runs, logs = _history(engine)
    assert logs == [(ancient, "C"), (recent, "A"), (recent, "B")]
    assert runs == {ancient, changed, stuck, recent} and empty not in runs and old not in runs
    assert (done.log_rows, done.runs, done.complete) == (4, 2, True)
    assert (dry.log_rows, dry.runs) == (4, 2)
    assert done.batches >= 3  # 4 old rows in batches of 2, then the runs
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(asset_change)).scalar() == 1
    again = prune(engine, 180, now=NOW)
    assert (again.log_rows, again.runs) == (0, 0)


def test_a_longer_retention_keeps_more(engine):
    with engine.begin() as conn:
        _run(conn, 200, ["A"])
        _run(conn, 100, ["A"])
        _run(conn, 1, ["A"])
    assert prune(engine, 365, now=NOW).log_rows == 0
    assert prune(engine, 150, now=NOW).log_rows == 1
    assert len(_history(engine)[1]) == 2
    assert prune(engine, 90, now=NOW).log_rows == 1
    assert len(_history(engine)[1]) == 1


def test_a_row_exactly_as_old_as_the_retention_stays(engine):
    # "Older than IC3_LOG_RETENTION_DAYS": a run and its rows exactly at the cutoff are kept,
    # one a second older go. Each run's rows are superseded by the newer run's.
    with engine.begin() as conn:
        older = _run(conn, 0, ["A"])
        at_cutoff = _run(conn, 0, ["A"])
        _run(conn, 1, ["A"])
        for run_id, seconds in ((older, 1), (at_cutoff, 0)):
            when = NOW - timedelta(days=180, seconds=seconds)
            conn.execute(
                sa.update(sync_run)
                .where(sync_run.c.run_id == run_id)
                .values(started_at=when, finished_at=when)
            )
            conn.execute(
                sa.update(sync_log).where(sync_log.c.run_id == run_id).values(synced_at=when)
            )
    assert count_prunable(engine, 180, now=NOW).log_rows == 1
    result = prune(engine, 180, now=NOW)
    assert (result.log_rows, result.runs) == (1, 1)
    runs, logs = _history(engine)
    assert older not in runs and at_cutoff in runs
    assert [run_id for run_id, _ in logs] == [at_cutoff, at_cutoff + 1]


def test_a_time_budget_stops_between_batches_and_the_next_prune_goes_on(engine):
    with engine.begin() as conn:
        for days in range(300, 290, -1):
            _run(conn, days, ["A", "B", "C"])
        _run(conn, 1, ["A", "B", "C"])
    first = prune(engine, 180, now=NOW, batch=3, budget_s=0)
    assert first.complete is False and first.log_rows == 3 and first.runs == 0
    rest = prune(engine, 180, now=NOW, batch=3)
    assert rest.complete and first.log_rows + rest.log_rows == 30 and rest.runs == 10
    assert len(_history(engine)[1]) == 3


def test_prune_command_dry_run_counts_and_prune_deletes(engine, db_url):
    with engine.begin() as conn:
        _run(conn, 500, ["A", "B"])
        _run(conn, 0, ["A", "B"])
    env = base_env(db_url, IC3_LOG_RETENTION_DAYS="30")

    dry = run_cli("prune", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would delete 2 log rows and 1 run older than 30 days" in dry.stdout
    one_day = run_cli("prune", "--dry-run", env={**env, "IC3_LOG_RETENTION_DAYS": "1"})
    assert "older than 1 day (" in one_day.stdout, one_day.stdout
    assert len(_history(engine)[1]) == 4

    done = run_cli("prune", env=env)
    assert done.returncode == 0, done.stderr
    assert "deleted 2 log rows and 1 run older than 30 days" in done.stdout
    assert len(_history(engine)[1]) == 2

    bad = run_cli("prune", env={**env, "IC3_LOG_RETENTION_DAYS": "0"})
    assert bad.returncode == 1 and "IC3_LOG_RETENTION_DAYS" in bad.stderr


def test_each_run_prunes_after_itself_whatever_started_it(engine, db_url):
    from ic3sync.bootstrap import bootstrap, client_factory
    from ic3sync.config import Settings
    from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
    from ic3sync.model import AssetSelection
    from tests.helpers import TOKEN, seed_assets

    ids = ["Plant 01_PUMP_01", "Plant 02_PUMP_02"]
    seed_assets(engine, ids)
    with engine.begin() as conn:
        old = _run(conn, 400, ids)

    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        settings = Settings(database_url=db_url, api_url=sim.url, api_token=TOKEN, rate_ms=0)
        manager = bootstrap(settings, engine=engine, clients=client_factory(settings)).run_manager()
        api_run = manager.start(AssetSelection(), trigger="api").wait(30).run_id
        manager.shutdown()  # joins the run's thread, which prunes after the run
    assert _history(engine) == ({api_run}, [(api_run, ids[0]), (api_run, ids[1])])

    # An asset no longer in the register: its older row goes, its latest stays.
    with engine.begin() as conn:
        older, newer = _run(conn, 300, ["Gone_01"]), _run(conn, 299, ["Gone_01"])
    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        done = run_cli("sync", "--json", env=base_env(db_url, sim.url))
    assert done.returncode == 0, done.stderr
    runs, logs = _history(engine)
    assert older not in runs and newer in runs and (newer, "Gone_01") in logs
    assert len(logs) == 5 and old not in runs


def test_no_prune_transaction_deletes_more_than_its_batch(engine):
    # A running sync waits for no long prune: every transaction of a prune deletes at most
    # `batch` rows, log rows and runs alike.
    with engine.begin() as conn:
        for days in range(300, 290, -1):
            _run(conn, days, ["A", "B", "C"])
        _run(conn, 1, ["A", "B", "C"])
    deleted: list[int] = [0]
    per_transaction: list[int] = []

    @sa.event.listens_for(engine, "after_cursor_execute")
    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("DELETE"):
            deleted[0] += max(cursor.rowcount, 0)

    @sa.event.listens_for(engine, "commit")
    def close(conn):  # type: ignore[no-untyped-def]
        per_transaction.append(deleted[0])
        deleted[0] = 0

    result = prune(engine, 180, now=NOW, batch=4)
    assert (result.log_rows, result.runs) == (30, 10)
    assert sum(per_transaction) == 40
    assert max(per_transaction) <= 4, per_transaction
