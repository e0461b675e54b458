"""The admin service as a process (`ic3sync serve`) against the simulator process, on SQLite and
PostgreSQL: every route, its errors, and what happens to a run when the process is stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
from typing import Any

import httpx
import sqlalchemy as sa

from ic3sync.db.migrate import head_revision
from ic3sync.innomaint.simulator import asset_payload
from tests.e2e.conftest import (
    ADMIN_TOKEN,
    BROKEN,
    PREFIX,
    ServerProcess,
    asset_ids,
    serving,
)
from tests.helpers import TOKEN, master, seed_assets, table_rows
from tests.procs import base_env, ic3sync_cmd, release_held, run_cli, simulator_process

SPACED = "Delhi Cantt Naraina_BP_01"
# Request spacing that makes a run of SLOW_ASSETS last a few seconds.
SLOW = {"INNOMAINT_RATE_MS": "100"}
SLOW_ASSETS = 40
# A slow run that must outlast a command line's start on a loaded machine (several seconds);
# it is cancelled long before its end.
LONG_ASSETS = 400


def running(run: dict[str, Any]) -> bool:
    return run["status"] == "running" and run["done"] >= 1


def ended(run: dict[str, Any]) -> bool:
    return run["status"] != "running"


def run_rows(engine: sa.Engine) -> list[dict[str, Any]]:
    return table_rows(engine, "cmms_sync_run", "run_id")


def test_every_route_answers_with_its_documented_shape(register, start_server):
    seed_assets(register, [SPACED, *asset_ids(3), BROKEN])
    server = start_server(IC3_LOG_FORMAT="json")
    http = server.http

    batch = http.post(f"{PREFIX}/sync", params={"batch": 3})
    assert batch.status_code == 200, batch.text
    result = batch.json()
    assert set(result) >= {"run_id", "total", "success", "failed", "skipped", "errors"}
    assert (result["total"], result["success"], result["failed"]) == (3, 3, 0)
    assert result["status"] == "completed" and result["duration_ms"] >= 0

    one = http.post(f"{PREFIX}/sync/{SPACED.replace(' ', '%20')}")
    assert one.status_code == 200, one.text
    expected_trace = asset_payload(SPACED)["response"]["data"]["traceid"]
    assert one.json()["status"] == "synced"
    assert one.json()["cmms_asset_id"] == SPACED
    assert (
        one.json()["traceability_id"]
        == expected_trace
        == master(register, SPACED)["traceability_id"]
    )

    unknown = http.post(f"{PREFIX}/sync/No%20Such%20Asset")
    assert unknown.status_code == 404
    assert "No Such Asset" in unknown.json()["detail"]

    broken = http.post(f"{PREFIX}/sync/{BROKEN}")
    assert broken.status_code == 502
    assert broken.json()["detail"].startswith("HTTP 404")
    assert broken.json()["cmms_asset_id"] == BROKEN

    # A full batch (the default of 100 takes all 5) logs the broken asset as failed.
    full = http.post(f"{PREFIX}/sync").json()
    assert (full["total"], full["failed"]) == (5, 1)
    assert full["errors"] == [f"{BROKEN}: {broken.json()['detail']}"]

    runs = http.get(f"{PREFIX}/runs", params={"limit": 2}).json()
    assert runs["total"] == 4 and [r["run_id"] for r in runs["items"]] == [
        full["run_id"],
        broken.json()["run_id"],
    ]
    assert http.get(f"{PREFIX}/runs", params={"status": "running"}).json()["total"] == 0

    run = http.get(f"{PREFIX}/runs/{full['run_id']}").json()
    assert (run["status"], run["trigger"], run["done"], run["total"]) == ("completed", "api", 5, 5)
    assert run["filters"]["batch"] == 100 and run["eta_s"] is None
    assert run["finished_at"] is not None and run["duration_ms"] == full["duration_ms"]

    failed_log = http.get(f"{PREFIX}/runs/{full['run_id']}/log", params={"status": "failed"})
    rows = failed_log.json()["items"]
    assert failed_log.json()["total"] == 1
    assert [(r["cmms_asset_id"], r["http_status"], r["error_kind"]) for r in rows] == [
        (BROKEN, 404, "http_404")
    ]
    page = http.get(f"{PREFIX}/runs/{full['run_id']}/log", params={"limit": 2, "offset": 1})
    assert [r["cmms_asset_id"] for r in page.json()["items"]] == asset_ids(2)

    detail = http.get(f"{PREFIX}/assets/{SPACED}").json()
    assert detail["asset"]["traceability_id"] == expected_trace
    assert detail["asset"]["sync_version"] == 3  # the first batch, on its own, the full run
    assert detail["performance"] is not None and len(detail["workorders"]) == 2
    assert detail["building"]["building_id"] == detail["asset"]["building_id"]
    assert [r["status"] for r in detail["recent_log"]] == ["success"] * 3
    assert http.get(f"{PREFIX}/assets/nope").status_code == 404

    assert http.get(f"{PREFIX}/runs/99999").status_code == 404
    assert http.get(f"{PREFIX}/runs/99999/log").status_code == 404
    done_cancel = http.post(f"{PREFIX}/runs/{full['run_id']}/cancel")
    assert done_cancel.status_code == 409 and "completed" in done_cancel.json()["detail"]

    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 200 and health.json()["database"] == register.dialect.name

    metrics = httpx.get(f"{server.url}/metrics").text
    assert 'ic3sync_assets_total{reason="http_404",status="failed"} 2.0' in metrics
    assert 'ic3sync_runs_total{status="completed",trigger="api"} 4.0' in metrics
    assert "ic3sync_run_in_progress 0.0" in metrics
    # One per HTTP attempt, failed ones included (the 404s), as the log counts them.
    attempts = sum(r["attempts"] for r in table_rows(register, "cmms_sync_log"))
    assert attempts > 8 and f"ic3sync_innomaint_request_seconds_count {attempts}.0" in metrics

    # The service's log: JSON lines, with the run and asset where they apply, no token.
    text = server.log()
    assert TOKEN not in text and ADMIN_TOKEN not in text
    entries = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    failed = [e for e in entries if e.get("cmms_asset_id") == BROKEN]
    assert failed and all(e["run_id"] in (broken.json()["run_id"], full["run_id"]) for e in failed)
    assert any(e.get("run_id") == full["run_id"] and "started" in e["message"] for e in entries)


def test_admin_routes_need_the_token_and_health_and_metrics_do_not(register, start_server):
    server = start_server()
    paths = [
        ("POST", f"{PREFIX}/sync"),
        ("POST", f"{PREFIX}/sync/{SPACED}"),
        ("GET", f"{PREFIX}/runs"),
        ("GET", f"{PREFIX}/runs/1"),
        ("GET", f"{PREFIX}/runs/1/log"),
        ("POST", f"{PREFIX}/runs/1/cancel"),
        ("GET", f"{PREFIX}/assets/{SPACED}"),
    ]
    for method, path in paths:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}):
            answer = httpx.request(method, server.url + path, headers=headers)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert "detail" in answer.json()
        # A right token clears this address's count of wrong ones, which would otherwise
        # meet the throttle after five (test_hardening tests it).
        assert server.http.get(f"{PREFIX}/runs").status_code == 200
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}/metrics").status_code == 200
    assert run_rows(register) == []


def test_without_the_innomaint_token_reads_work_and_triggers_answer_503(register, start_server):
    seed_assets(register, asset_ids(1))
    # No admin token either: the service binds loopback only and admits local callers.
    server = start_server(IC3_ADMIN_TOKEN="", INNOMAINT_API_TOKEN=None)
    assert httpx.get(f"{server.url}/healthz").status_code == 200
    assert httpx.get(f"{server.url}{PREFIX}/runs").json()["total"] == 0
    for path in ("/sync", f"/sync/{asset_ids(1)[0]}"):
        answer = httpx.post(f"{server.url}{PREFIX}{path}")
        assert answer.status_code == 503
        assert "INNOMAINT_API_TOKEN" in answer.json()["detail"]
    assert run_rows(register) == []


def test_without_an_admin_token_serve_refuses_to_listen_beyond_loopback(db_url, tmp_path):
    env = base_env(db_url)
    refused = subprocess.run(
        ic3sync_cmd("serve", "--host", "0.0.0.0", "--port", "9"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert "IC3_ADMIN_TOKEN" in refused.stderr and "0.0.0.0" in refused.stderr


def test_health_answers_503_while_the_database_is_unreachable(db_url, tmp_path, start_server):
    if db_url.startswith("sqlite"):
        unreachable = f"sqlite:///{tmp_path}/no/such/dir/ic3sync.db"
    else:
        unreachable = sa.make_url(db_url).set(port=1).render_as_string(hide_password=False)
    server = start_server(IC3_DATABASE_URL=unreachable)
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 503
    assert health.json()["detail"].startswith("database unreachable")
    listing = server.http.get(f"{PREFIX}/runs")
    assert listing.status_code == 503 and "Traceback" not in listing.text
    trigger = server.http.post(f"{PREFIX}/sync")
    assert trigger.status_code == 503 and set(trigger.json()) <= {"detail", "run_id"}
    # The reason names what could not be reached (an empty body would pass the line above).
    where = "no/such/dir" if db_url.startswith("sqlite") else "port 1 failed"
    assert where in trigger.json().get("detail", ""), trigger.json()


def test_health_answers_503_naming_what_to_do_while_the_schema_is_behind_the_code(
    register, start_server
):
    server = start_server()
    head = head_revision()
    assert httpx.get(f"{server.url}/healthz").json()["schema_revision"] == head
    with register.begin() as conn:  # as if the database were restored from an older backup
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 503
    assert health.json() == {
        "detail": f"schema at revision 0001, not {head}: run `ic3sync migrate`"
    }
    with register.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :head"), {"head": head})
    assert httpx.get(f"{server.url}/healthz").status_code == 200


def test_a_background_run_is_watched_to_completion_and_refuses_a_second_trigger(
    register, db_url, tmp_path
):
    ids = asset_ids(12)
    seed_assets(register, ids)
    # The vendor holds the fifth asset until the test releases it: the run is seen midway
    # however slow the machine, and ends as soon as it may.
    # Requests 60 ms apart: by the fifth, the run has taken long enough to show an ETA.
    with (
        simulator_process(tmp_path, faults={ids[4]: "held"}) as api,
        serving(db_url, api, tmp_path, INNOMAINT_RATE_MS="60") as server,
    ):
        _watch_a_background_run(server, register, api)


def _watch_a_background_run(server: ServerProcess, register: sa.Engine, api: str) -> None:
    started = server.http.post(f"{PREFIX}/sync", params={"wait": "false", "batch": 10})
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    assert started.headers["Location"] == f"{PREFIX}/runs/{run_id}"

    midway = server.wait_for_run(run_id, lambda run: running(run) and run["done"] == 4)
    assert midway["total"] == 10
    assert midway["current_asset"] in asset_ids(10)
    assert midway["eta_s"] is not None and midway["eta_s"] > 0

    second = server.http.post(f"{PREFIX}/sync")
    assert second.status_code == 409
    assert second.json()["run_id"] == run_id and f"run {run_id}" in second.json()["detail"]
    assert server.http.post(f"{PREFIX}/sync/{asset_ids(1)[0]}").status_code == 409
    assert len(run_rows(register)) == 1

    release_held(api)
    final = server.wait_for_run(run_id, ended)
    assert (final["status"], final["success"], final["done"]) == ("completed", 10, 10)
    assert final["current_asset"] is None and final["eta_s"] is None
    log = server.http.get(f"{server.url}{PREFIX}/runs/{run_id}/log").json()
    assert [r["cmms_asset_id"] for r in log["items"]] == asset_ids(10)

    only_failed = server.http.post(f"{PREFIX}/sync", params={"only_failed": "true"}).json()
    assert (only_failed["total"], only_failed["status"]) == (0, "no_match")
    assert len(run_rows(register)) == 1


def test_a_selection_that_matches_nothing_answers_no_match_and_records_no_run(
    register, start_server
):
    seed_assets(register, asset_ids(2))
    server = start_server()
    for params in ({"customer_id": 99999}, {"offset": 50, "wait": "false"}):
        answer = server.http.post(f"{PREFIX}/sync", params=params)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["status"], body["run_id"], body["total"]) == ("no_match", None, 0)
        assert body["detail"].startswith("no asset matches")
    assert str(99999) in server.http.post(f"{PREFIX}/sync", params={"customer_id": 99999}).text
    assert run_rows(register) == []


def test_cancel_stops_a_run_after_the_asset_in_flight(register, start_server):
    seed_assets(register, asset_ids(SLOW_ASSETS))
    server = start_server(**SLOW)
    run_id = server.http.post(f"{PREFIX}/sync", params={"wait": "false"}).json()["run_id"]
    server.wait_for_run(run_id, running)

    cancelled = server.http.post(f"{PREFIX}/runs/{run_id}/cancel")
    assert cancelled.status_code == 200
    run = cancelled.json()
    assert run["status"] == "cancelled"
    assert run["skipped"] > 0 and run["success"] + run["skipped"] == SLOW_ASSETS
    logged = [r for r in table_rows(register, "cmms_sync_log") if r["run_id"] == run_id]
    assert len(logged) == SLOW_ASSETS
    synced = [r for r in table_rows(register, "ic3_asset_master") if r["sync_version"] == 1]
    assert len(synced) == run["success"]
    again = server.http.post(f"{PREFIX}/runs/{run_id}/cancel")
    assert again.status_code == 409


def test_the_run_lock_holds_between_the_service_and_the_cli(
    register, start_server, db_url, api_simulator
):
    seed_assets(register, asset_ids(LONG_ASSETS))
    server = start_server(**SLOW)
    env = base_env(db_url, api_simulator)

    run_id = server.http.post(f"{PREFIX}/sync", params={"wait": "false"}).json()["run_id"]
    server.wait_for_run(run_id, running)
    cli = run_cli("sync", "--batch", "1", env=env)
    assert cli.returncode == 1
    assert f"a sync is already running (run {run_id})" in cli.stderr
    server.http.post(f"{PREFIX}/runs/{run_id}/cancel")
    # The cancel answers after a bounded wait; the lock is free once the run has ended.
    server.wait_for_run(run_id, ended)
    assert len(run_rows(register)) == 1

    # Now the CLI holds the lock: the service refuses to start, and cancels the CLI's run.
    cli_proc = subprocess.Popen(
        ic3sync_cmd("sync"),
        env={**env, **SLOW},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(run_rows(register)) < 2 and time.monotonic() < deadline:
            assert cli_proc.poll() is None, cli_proc.communicate()[1]
            time.sleep(0.05)
        cli_run = run_rows(register)[-1]
        assert cli_run["trigger"] == "cli"
        refused = server.http.post(f"{PREFIX}/sync")
        assert refused.status_code == 409 and refused.json()["run_id"] == cli_run["run_id"]
        watched = server.wait_for_run(cli_run["run_id"], running)
        assert watched["trigger"] == "cli" and watched["done"] >= 1
        cancelled = server.http.post(f"{PREFIX}/runs/{cli_run['run_id']}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        _, errs = cli_proc.communicate(timeout=30)
    finally:
        if cli_proc.poll() is None:
            cli_proc.send_signal(signal.SIGTERM)
            cli_proc.communicate(timeout=30)
    assert cli_proc.returncode == 130, errs
    assert "cancel requested from another process" in errs
    runs = run_rows(register)
    assert len(runs) == 2 and runs[-1]["status"] == "cancelled"
    assert runs[-1]["cancel_requested_at"] is not None
    assert 0 < runs[-1]["success"] < LONG_ASSETS


def test_kill_9_mid_run_frees_the_lock_and_the_next_start_marks_the_run_interrupted(
    register, start_server
):
    seed_assets(register, asset_ids(SLOW_ASSETS))
    first = start_server(**SLOW)
    run_id = first.http.post(f"{PREFIX}/sync", params={"wait": "false"}).json()["run_id"]
    first.wait_for_run(run_id, running)
    first.stop(signal.SIGKILL)
    assert run_rows(register)[0]["status"] == "running"

    second = start_server()
    run = second.http.get(f"{PREFIX}/runs/{run_id}").json()
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert run["done"] >= 1 and run["done"] == run["success"]
    after = second.http.post(f"{PREFIX}/sync", params={"batch": 3})
    assert after.status_code == 200 and after.json()["status"] == "completed"


def test_sigterm_mid_run_cancels_it_and_the_service_exits_within_20_s(register, start_server):
    seed_assets(register, asset_ids(SLOW_ASSETS))
    server = start_server(**SLOW)
    answers: list[httpx.Response] = []
    waiting = threading.Thread(
        target=lambda: answers.append(server.http.post(f"{PREFIX}/sync", params={"batch": 100}))
    )
    waiting.start()
    deadline = time.monotonic() + 30
    while not run_rows(register) and time.monotonic() < deadline:
        time.sleep(0.05)
    server.wait_for_run(run_rows(register)[0]["run_id"], running)

    stopped_at = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=20)
    assert time.monotonic() - stopped_at < 20
    waiting.join(timeout=5)

    run = run_rows(register)[0]
    assert run["status"] == "cancelled"
    assert run["success"] + run["skipped"] == SLOW_ASSETS and run["skipped"] > 0
    # The request that was waiting on the run got its result before the server went away.
    assert answers and answers[0].status_code == 200
    assert answers[0].json()["status"] == "cancelled"


def test_a_per_second_schedule_starts_runs_and_skips_ticks_while_one_is_going(
    register, start_server
):
    seed_assets(register, asset_ids(15))
    server = start_server(
        IC3_SYNC_CRON="* * * * * *", IC3_TIMEZONE="Asia/Kolkata", INNOMAINT_RATE_MS="150"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = server.http.get(f"{PREFIX}/runs", params={"status": "completed"}).json()
        if runs["total"] >= 1 and "scheduled run skipped" in server.log():
            break
        time.sleep(0.2)
    first = runs["items"][-1]
    assert first["trigger"] == "schedule" and first["total"] == 15
    assert "scheduled run skipped" in server.log()
    triggers = {r["trigger"] for r in server.http.get(f"{PREFIX}/runs").json()["items"]}
    assert triggers == {"schedule"}


def test_a_bad_schedule_stops_serve_with_a_message(db_url, register, tmp_path):
    env = base_env(db_url, IC3_SYNC_CRON="every night", IC3_ADMIN_TOKEN=ADMIN_TOKEN)
    refused = run_cli("serve", "--port", "9", env=env)
    assert refused.returncode == 1 and "IC3_SYNC_CRON" in refused.stderr
