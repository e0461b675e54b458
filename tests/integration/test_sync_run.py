"""A sync run against the real simulator (in-process HTTP server) on SQLite and PostgreSQL:
each rule of the contract's "Behaviour" section has a test here that fails if it is broken."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from ic3sync.db.lock import RunLock
from ic3sync.db.schema import sync_run
from ic3sync.errors import AssetNotFound, AssetSyncFailed, RunInProgress
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.model import AssetSelection
from ic3sync.sync import recover_dead_runs, run_sync, sync_asset
from tests.helpers import TOKEN, OnOutcome, all_text, client_for, master, seed_assets, table_rows

IDS = [f"Plant {n:02d}_PUMP_{n:02d}" for n in range(1, 9)]


@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    faults = getattr(request, "param", {})
    with Simulator(SimulatorConfig(token=TOKEN, faults=faults)) as sim:
        yield sim


def _run(engine: sa.Engine, sim: Simulator, **kw):  # type: ignore[no-untyped-def]
    with client_for(sim.url) as client:
        return run_sync(engine, client, trigger="cli", **kw)


def test_a_full_run_fills_every_table_and_logs_every_asset(engine, simulator):
    seed_assets(engine, IDS)
    result = _run(engine, simulator)

    assert (result.total, result.success, result.failed, result.status) == (8, 8, 0, "completed")
    expected = asset_payload(IDS[0])["response"]
    row = master(engine, IDS[0])
    assert row["traceability_id"] == expected["data"]["traceid"]
    assert row["barcode"] == expected["data"]["barcode"]
    assert row["building_id"] == expected["data"]["building_id"]
    assert row["sync_version"] == 1 and row["last_synced_at"] is not None
    assert len(table_rows(engine, "ic3_asset_performance")) == 8
    assert len(table_rows(engine, "ic3_workorder_summary")) == 16
    buildings = {r["building_id"] for r in table_rows(engine, "ic3_building")}
    assert buildings == {asset_payload(i)["response"]["data"]["building_id"] for i in IDS}
    logs = table_rows(engine, "cmms_sync_log")
    assert [r["cmms_asset_id"] for r in logs] == IDS
    assert {r["status"] for r in logs} == {"success"}
    assert all(r["run_id"] == result.run_id and r["attempts"] == 1 for r in logs)
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["status"], run["success"], run["total"], run["trigger"]) == (
        "completed",
        8,
        8,
        "cli",
    )
    with engine.connect() as conn:
        view = conn.execute(
            sa.text(
                "SELECT status, COUNT(*) FROM ic3_sync_log WHERE sync_type = 'api_sync' "
                "GROUP BY status"
            )
        ).all()
    assert view == [("success", 8)]


def test_a_second_run_updates_in_place_and_counts_sync_version_two(engine, simulator):
    seed_assets(engine, IDS)
    _run(engine, simulator)
    before = {
        name: len(table_rows(engine, name))
        for name in (
            "ic3_building",
            "ic3_floor_master",
            "ic3_department_master",
            "ic3_asset_performance",
            "ic3_workorder_summary",
        )
    }
    _run(engine, simulator)
    after = {name: len(table_rows(engine, name)) for name in before}
    assert after == before
    assert {r["sync_version"] for r in table_rows(engine, "ic3_asset_master")} == {2}
    assert len(table_rows(engine, "cmms_sync_log")) == 16


def test_assets_run_in_report_seq_no_order_then_asset_id(engine, simulator):
    seed_assets(engine, ["C", "A"], start_seq=5)
    seed_assets(engine, ["B"], start_seq=1)
    seed_assets(engine, ["D"], start_seq=5)  # same report_seq_no as C: asset_id decides
    _run(engine, simulator)
    order = [r["cmms_asset_id"] for r in table_rows(engine, "cmms_sync_log", "log_id")]
    assert order == ["B", "C", "D", "A"]


def test_batch_offset_and_customer_filters_pick_a_stable_slice(engine, simulator):
    seed_assets(engine, IDS[:4], customer_id=1)
    seed_assets(engine, IDS[4:], customer_id=2, start_seq=5)
    result = _run(engine, simulator, selection=AssetSelection(batch=2, offset=1, customer_id=2))
    assert result.total == 2
    logged = [r["cmms_asset_id"] for r in table_rows(engine, "cmms_sync_log", "log_id")]
    assert logged == IDS[5:7]
    assert all(r["customer_id"] == 2 for r in table_rows(engine, "cmms_sync_log"))
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["batch_size"], run["offset_start"], run["customer_id"]) == (2, 1, 2)


@pytest.mark.parametrize(
    "simulator", [{IDS[1]: "not_found", IDS[2]: {"kind": "unavailable", "times": 1}}], indirect=True
)
def test_a_failed_asset_is_logged_with_its_reason_and_the_run_goes_on(engine, simulator):
    seed_assets(engine, IDS[:4])
    result = _run(engine, simulator)
    assert (result.success, result.failed) == (3, 1)
    assert result.errors[0].startswith(f"{IDS[1]}: HTTP 404")
    logs = {r["cmms_asset_id"]: r for r in table_rows(engine, "cmms_sync_log")}
    assert logs[IDS[1]]["status"] == "failed"
    assert logs[IDS[1]]["http_status"] == 404 and logs[IDS[1]]["attempts"] == 1
    assert logs[IDS[1]]["error_kind"] == "http_404"
    assert logs[IDS[2]]["status"] == "success" and logs[IDS[2]]["attempts"] == 2
    assert logs[IDS[2]]["error_kind"] is None
    assert master(engine, IDS[1])["sync_version"] == 0


def test_a_database_failure_rolls_back_that_asset_alone(engine, simulator):
    seed_assets(engine, IDS[:3])
    victim = IDS[1]
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON ic3_workorder_summary "
                    f"WHEN NEW.asset_id = (SELECT asset_id FROM ic3_asset_master "
                    f"WHERE cmms_asset_id = '{victim}') "
                    "BEGIN SELECT RAISE(ABORT, 'workorder refused'); END"
                )
            )
        else:
            conn.execute(
                sa.text(
                    "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.asset_id = (SELECT asset_id FROM ic3_asset_master "
                    f"WHERE cmms_asset_id = '{victim}') "
                    "THEN RAISE EXCEPTION 'workorder refused'; END IF; RETURN NEW; END $$ "
                    "LANGUAGE plpgsql"
                )
            )
            conn.execute(
                sa.text(
                    "CREATE TRIGGER boom BEFORE INSERT ON ic3_workorder_summary "
                    "FOR EACH ROW EXECUTE FUNCTION boom()"
                )
            )
    result = _run(engine, simulator)
    assert (result.success, result.failed) == (2, 1)
    row = master(engine, victim)
    # The master update ran before the refused insert and was rolled back with it.
    assert row["sync_version"] == 0 and row["traceability_id"] is None
    perf_assets = {r["asset_id"] for r in table_rows(engine, "ic3_asset_performance")}
    assert row["asset_id"] not in perf_assets
    log = [r for r in table_rows(engine, "cmms_sync_log") if r["cmms_asset_id"] == victim]
    assert [(r["status"], r["error_kind"]) for r in log] == [("failed", "database")]
    assert "workorder refused" in log[0]["error_message"]


@pytest.mark.parametrize("simulator", [{IDS[0]: "other_serial"}], indirect=True)
def test_an_answer_for_another_serialnumber_fails_and_writes_nothing(engine, simulator):
    seed_assets(engine, IDS[:1])
    before = master(engine, IDS[0])
    result = _run(engine, simulator)
    assert result.failed == 1
    assert "serialnumber" in result.errors[0]
    assert master(engine, IDS[0]) == before
    for name in ("ic3_asset_performance", "ic3_workorder_summary", "ic3_building"):
        assert table_rows(engine, name) == []
    log = table_rows(engine, "cmms_sync_log")[0]
    assert (log["status"], log["http_status"], log["attempts"]) == ("failed", 200, 1)
    assert log["error_kind"] == "serial_mismatch"


@pytest.mark.parametrize(
    "simulator",
    [{IDS[0]: "status_false", IDS[1]: "non_json", IDS[2]: "bad_request", IDS[3]: "unauthorized"}],
    indirect=True,
)
def test_each_failure_is_logged_with_its_kind(engine, simulator):
    seed_assets(engine, IDS[:6])
    result = _run(engine, simulator)
    assert result.status == "aborted"
    logs = table_rows(engine, "cmms_sync_log", "log_id")
    assert [(r["cmms_asset_id"], r["status"], r["error_kind"]) for r in logs] == [
        (IDS[0], "failed", "status_false"),
        (IDS[1], "failed", "not_json"),
        (IDS[2], "failed", "http_400"),
        (IDS[3], "failed", "auth"),
        (IDS[4], "skipped", "aborted"),
        (IDS[5], "skipped", "aborted"),
    ]


@pytest.mark.parametrize("simulator", [{IDS[0]: "empty_fields"}], indirect=True)
def test_empty_api_values_keep_what_the_register_had(engine, simulator):
    seed_assets(engine, IDS[:1], criticality="Critical-from-Excel")
    result = _run(engine, simulator)
    assert result.success == 1
    row = master(engine, IDS[0])
    assert row["criticality"] == "Critical-from-Excel"
    assert row["customer_id"] == 24463


def test_a_non_empty_api_criticality_overrides_the_register(engine, simulator):
    seed_assets(engine, IDS[:1], criticality="Low-from-Excel")
    _run(engine, simulator)
    expected = asset_payload(IDS[0])["response"]["data"]["criticality"]
    assert master(engine, IDS[0])["criticality"] == expected != "Low-from-Excel"


@pytest.mark.parametrize("simulator", [{IDS[0]: "bad_numbers"}], indirect=True)
def test_unparseable_values_are_stored_as_null_and_named_in_the_log(engine, simulator):
    seed_assets(engine, IDS[:1])
    result = _run(engine, simulator)
    assert result.success == 1
    wo = table_rows(engine, "ic3_workorder_summary")
    assert wo and all(r["ticket_count"] is None for r in wo)
    perf = table_rows(engine, "ic3_asset_performance")[0]
    assert perf["mttr_seconds"] is None and perf["mttr"] not in (None, "")
    log = table_rows(engine, "cmms_sync_log")[0]
    assert log["status"] == "success"
    assert "ticket_count" in log["error_message"] and "mttr" in log["error_message"]


@pytest.mark.parametrize("simulator", [{IDS[1]: "unauthorized"}], indirect=True)
def test_a_rejected_token_aborts_the_whole_run(engine, simulator):
    seed_assets(engine, IDS[:4])
    result = _run(engine, simulator)
    assert result.status == "aborted"
    assert "token" in (result.error or "")
    assert (result.success, result.failed, result.skipped) == (1, 1, 2)
    run = table_rows(engine, "cmms_sync_run")[0]
    assert run["status"] == "aborted" and "token" in run["error"]
    statuses = [r["status"] for r in table_rows(engine, "cmms_sync_log", "log_id")]
    assert statuses == ["success", "failed", "skipped", "skipped"]


def test_a_cancelled_run_is_recorded_with_its_counts(engine, simulator):
    seed_assets(engine, IDS)
    cancel = threading.Event()
    done = []

    def after_each(outcome):  # type: ignore[no-untyped-def]
        done.append(outcome)
        if len(done) == 3:
            cancel.set()

    with client_for(simulator.url, cancel=cancel) as client:
        result = run_sync(
            engine, client, trigger="cli", cancel=cancel, observer=OnOutcome(after_each)
        )
    assert result.status == "cancelled"
    assert (result.success, result.skipped, result.total) == (3, 5, 8)
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["status"], run["success"], run["skipped"]) == ("cancelled", 3, 5)
    skipped = [r for r in table_rows(engine, "cmms_sync_log") if r["status"] == "skipped"]
    assert {r["error_kind"] for r in skipped} == {"cancelled"}
    assert {r["sync_version"] for r in table_rows(engine, "ic3_asset_master")} == {0, 1}


def test_a_run_left_running_by_a_dead_process_is_marked_interrupted(engine, simulator):
    seed_assets(engine, IDS[:2])
    with engine.begin() as conn:
        conn.execute(
            sa.insert(sync_run).values(
                trigger="cli",
                scope="full",
                status="running",
                started_at=datetime.now(UTC),
                offset_start=0,
            )
        )
    assert recover_dead_runs(engine) == [1]
    _run(engine, simulator)
    runs = table_rows(engine, "cmms_sync_run", "run_id")
    assert [r["status"] for r in runs] == ["interrupted", "completed"]


def test_a_second_run_while_one_holds_the_lock_is_refused(engine, simulator):
    seed_assets(engine, IDS[:1])
    with RunLock(engine) as held:
        assert held
        with pytest.raises(RunInProgress):
            _run(engine, simulator)
    assert table_rows(engine, "cmms_sync_run") == []
    assert _run(engine, simulator).status == "completed"


@pytest.mark.parametrize("simulator", [{IDS[1]: {"kind": "not_found"}}], indirect=True)
def test_only_failed_takes_the_assets_whose_latest_outcome_failed(engine, simulator):
    seed_assets(engine, IDS[:3])
    _run(engine, simulator)
    result = _run(engine, simulator, selection=AssetSelection(only_failed=True))
    assert result.total == 1
    assert result.errors[0].startswith(IDS[1])


def test_sync_asset_syncs_a_single_asset_with_spaces_in_its_id(engine, simulator):
    seed_assets(engine, ["Delhi Cantt Naraina_BP_01"])
    with client_for(simulator.url) as client:
        # Surrounding spaces are trimmed, as the register keeps ids.
        run_id, outcome = sync_asset(engine, client, " Delhi Cantt Naraina_BP_01 ", trigger="api")
        assert outcome.status == "success" and run_id == 1
        assert outcome.cmms_asset_id == "Delhi Cantt Naraina_BP_01"
        assert (
            outcome.traceability_id
            == master(engine, "Delhi Cantt Naraina_BP_01")["traceability_id"]
        )
        with pytest.raises(AssetNotFound):
            sync_asset(engine, client, "nope", trigger="api")
        with pytest.raises(AssetNotFound):
            sync_asset(engine, client, "  ", trigger="api")


@pytest.mark.parametrize("simulator", [{IDS[0]: "not_found"}], indirect=True)
def test_sync_asset_that_fails_raises_its_reason_and_run(engine, simulator):
    seed_assets(engine, IDS[:1])
    with client_for(simulator.url) as client, pytest.raises(AssetSyncFailed) as failed:
        sync_asset(engine, client, IDS[0], trigger="cli")
    assert failed.value.reason.startswith("HTTP 404")
    assert (failed.value.run_id, failed.value.run_status, failed.value.vendor) == (
        1,
        "completed",
        True,
    )


@pytest.mark.parametrize(
    "simulator",
    [{IDS[0]: "not_found", IDS[1]: "non_json", IDS[2]: "status_false", IDS[3]: "other_serial"}],
    indirect=True,
)
def test_the_token_is_in_no_table_after_a_run_with_faults(engine, simulator):
    seed_assets(engine, IDS)
    _run(engine, simulator)
    assert TOKEN not in all_text(engine)


def test_an_asset_whose_writes_lose_the_connection_every_time_fails_alone(engine, simulator):
    ids = ["Delhi Cantt Naraina_BP_01", "Plant 02_PUMP_02", "Plant 03_PUMP_03"]
    seed_assets(engine, ids)
    doomed = master(engine, ids[1])["asset_id"]
    lost = engine.dialect.loaded_dbapi.OperationalError

    @sa.event.listens_for(engine, "before_cursor_execute")
    def drop(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        # The asset's master update, as a connection cut mid-transaction answers it.
        if statement.startswith("UPDATE ic3_asset_master") and doomed in _values(parameters):
            raise lost("server closed the connection unexpectedly")

    result = _run(engine, simulator)
    assert (result.status, result.success, result.failed) == ("completed", 2, 1)
    logs = {r["cmms_asset_id"]: r for r in table_rows(engine, "cmms_sync_log", "log_id")}
    assert logs[ids[1]]["status"] == "failed" and logs[ids[1]]["error_kind"] == "database"
    assert logs[ids[1]]["error_message"].startswith(
        "database connection lost 3 times while writing this asset: "
    )
    assert master(engine, ids[1])["last_synced_at"] is None
    assert master(engine, ids[2])["last_synced_at"] is not None


def _values(parameters: object) -> list[object]:
    if isinstance(parameters, dict):
        return list(parameters.values())
    return list(parameters) if isinstance(parameters, (list, tuple)) else []
