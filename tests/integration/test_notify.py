"""Run notifications end to end on SQLite and PostgreSQL: a run started through the run manager
(the API's and the schedule's path) mails a real SMTP server over STARTTLS and posts to a real
HTTP receiver; a receiver that is down or slow changes nothing about the run."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from ic3sync.bootstrap import bootstrap, client_factory
from ic3sync.config import Settings
from ic3sync.db.schema import asset_change, asset_master
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.metrics import SyncMetrics
from ic3sync.model import AssetSelection
from ic3sync.notify import Notifications
from ic3sync.runs import RunManager
from tests.helpers import TOKEN, seed_assets
from tests.procs import free_port
from tests.receivers import SMTP_PASSWORD, SmtpServer, smtp_server, webhook_receiver

GOOD = [f"Plant {n:02d}_PUMP_{n:02d}" for n in range(1, 5)]
BROKEN = ["Site Z_BROKEN_01", "Site Z_HTML_02"]
FAULTS = {BROKEN[0]: "not_found", BROKEN[1]: "non_json"}
TO = ["night-shift@example.org", "maintenance@example.org"]


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN, faults=FAULTS)) as sim:
        yield sim


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


def _settings(engine: sa.Engine, api_url: str, **notify: object) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        api_url=api_url,
        api_token=TOKEN,
        rate_ms=0,
        public_url="https://ic3sync.example.org/",
        **notify,
    )


def _manager(settings: Settings, engine: sa.Engine, smtp: SmtpServer | None = None, **kw):  # type: ignore[no-untyped-def]
    metrics = SyncMetrics()
    notifications = Notifications.from_settings(
        settings, engine, metrics=metrics, tls=smtp.client_tls if smtp else None, **kw
    )
    wiring = bootstrap(settings, engine=engine, clients=client_factory(settings, backoff_base_s=0))
    manager = RunManager(
        engine,
        settings,
        client_factory=wiring.clients,
        metrics=metrics,
        notifications=notifications,
    )
    return manager, notifications, metrics


def _run(manager: RunManager, trigger: str = "api"):  # type: ignore[no-untyped-def]
    return manager.start(AssetSelection(), trigger=trigger).wait(60)


def test_a_run_with_failures_is_posted_and_mailed_with_its_failures_and_link(
    engine, simulator, smtp, caplog
):
    seed_assets(engine, GOOD + BROKEN)
    with webhook_receiver() as hook:
        settings = _settings(
            engine,
            simulator.url,
            notify_webhook_url=hook.url,
            notify_email_to=", ".join(TO),
            smtp_url=smtp.url(),
        )
        manager, notifications, metrics = _manager(settings, engine, smtp)
        with caplog.at_level(logging.DEBUG, logger="ic3sync"):
            result = _run(manager, trigger="schedule")
            assert notifications.drain(20)
        body = hook.wait()[0]
    mail = smtp.wait()[0]

    assert (result.status, result.failed) == ("completed", 2)
    assert body["run_id"] == result.run_id and body["status"] == "completed"
    assert body["trigger"] == "schedule"
    assert body["counts"] == {"total": 6, "success": 4, "failed": 2, "skipped": 0}
    assert body["duration_ms"] == result.duration_ms
    assert [f["cmms_asset_id"] for f in body["failures"]] == BROKEN
    assert body["failures"][0]["kind"] == "http_404" and "404" in body["failures"][0]["reason"]
    assert body["failures"][1]["kind"] == "not_json"
    assert body["url"] == f"https://ic3sync.example.org/runs/{result.run_id}"
    assert body["text"].startswith(f"ic3sync run {result.run_id} completed with failures")
    assert body["url"] in body["text"] and BROKEN[0] in body["text"]

    assert mail.tls and mail.login == "ic3sync@example.org"
    assert sorted(mail.recipients) == sorted(TO)
    assert mail.message["Subject"] == (
        f"ic3sync run {result.run_id} completed with failures: 4 ok, 2 failed, 0 skipped"
    )
    assert BROKEN[1] in mail.part("plain") and body["url"] in mail.part("plain")
    assert f'href="{body["url"]}"' in mail.part("html") and "<table" in mail.part("html")

    sent = metrics.render().decode()
    assert 'ic3sync_notifications_total{channel="webhook",outcome="sent"} 1.0' in sent
    assert 'ic3sync_notifications_total{channel="email",outcome="sent"} 1.0' in sent
    everything = caplog.text + str(body) + mail.raw.decode()
    for secret in (TOKEN, SMTP_PASSWORD, "aXbYcZ-webhook-secret"):
        assert secret not in everything


def test_a_clean_run_is_not_sent_on_problems_but_is_on_always(engine, simulator):
    seed_assets(engine, GOOD)
    with webhook_receiver() as hook:
        problems = _settings(engine, simulator.url, notify_webhook_url=hook.url)
        quiet, _, _ = _manager(problems, engine)
        assert _run(quiet).status == "completed"
        assert quiet.notifications.drain(10)
        assert hook.bodies == []

        always = _settings(engine, simulator.url, notify_webhook_url=hook.url, notify_on="always")
        loud, _, _ = _manager(always, engine)
        result = _run(loud)
        assert loud.notifications.drain(10)
        assert [b["run_id"] for b in hook.wait()] == [result.run_id]
        assert hook.bodies[0]["failures"] == [] and hook.bodies[0]["counts"]["failed"] == 0


def test_an_aborted_run_is_sent_with_its_reason_and_never_the_token(engine, simulator, caplog):
    seed_assets(engine, GOOD)
    with webhook_receiver() as hook:
        settings = _settings(engine, simulator.url, notify_webhook_url=hook.url)
        settings.api_token = type(settings.api_token)("wrong-" + TOKEN)  # type: ignore[misc]
        manager, notifications, _ = _manager(settings, engine)
        with caplog.at_level(logging.DEBUG, logger="ic3sync"):
            result = _run(manager)
            assert notifications.drain(10)
        body = hook.wait()[0]
    assert result.status == "aborted" and body["status"] == "aborted"
    assert "token" in body["error"].lower()
    assert TOKEN not in str(body) + caplog.text


def test_a_webhook_that_is_down_is_retried_counted_and_changes_nothing(engine, simulator, caplog):
    seed_assets(engine, GOOD + BROKEN)
    down = f"http://127.0.0.1:{free_port()}/hooks/down-secret-path"
    # `always`: the second run's failures are old news, which `problems` would not tell.
    settings = _settings(engine, simulator.url, notify_webhook_url=down, notify_on="always")
    manager, notifications, metrics = _manager(settings, engine, backoff_s=0.01)
    with caplog.at_level(logging.INFO, logger="ic3sync"):
        result = _run(manager)
        assert notifications.drain(10)
        # The next run is not held up by the first one's failing delivery.
        started = time.monotonic()
        second = _run(manager)
        start_to_end = time.monotonic() - started
        notifications.drain(10)

    assert (result.status, result.failed, second.failed) == ("completed", 2, 2)
    assert start_to_end < 5
    text = metrics.render().decode()
    assert 'ic3sync_notifications_total{channel="webhook",outcome="retried"} 6.0' in text
    assert 'ic3sync_notifications_total{channel="webhook",outcome="failed"} 2.0' in text
    assert "not delivered after 4 attempt(s)" in caplog.text
    assert "down-secret-path" not in caplog.text


def test_a_slow_webhook_is_abandoned_within_its_budget(engine, simulator):
    seed_assets(engine, GOOD + BROKEN)
    with webhook_receiver(delay_s=30) as hook:
        settings = _settings(engine, simulator.url, notify_webhook_url=hook.url)
        settings.notify_timeout_s = 0.5
        manager, notifications, metrics = _manager(settings, engine, backoff_s=0.01)
        started = time.monotonic()
        result = _run(manager)
        run_done = time.monotonic() - started
        assert notifications.drain(10)
        delivered = time.monotonic() - started

    assert result.failed == 2 and result.status == "completed"
    # The run's own answer does not wait for the webhook; the delivery gives up within
    # its budget (3 x the 0.5 s attempt timeout), not after the webhook's 30 s.
    assert run_done < 3
    assert delivered < run_done + 3
    assert 'outcome="failed"} 1.0' in metrics.render().decode()


def test_a_mail_server_that_refuses_the_password_is_not_retried(engine, simulator, smtp, caplog):
    seed_assets(engine, BROKEN)
    wrong = "not-the-password-42"
    settings = _settings(
        engine, simulator.url, notify_email_to=TO[0], smtp_url=smtp.url(password=wrong)
    )
    manager, notifications, metrics = _manager(settings, engine, smtp, backoff_s=0.01)
    with caplog.at_level(logging.INFO, logger="ic3sync"):
        result = _run(manager)
        assert notifications.drain(10)
    assert result.failed == 2 and smtp.mails == []
    assert "login refused (535)" in caplog.text and "after 1 attempt(s)" in caplog.text
    assert wrong not in caplog.text
    assert 'channel="email",outcome="failed"} 1.0' in metrics.render().decode()


def test_the_notice_counts_the_runs_changes_by_column_when_the_history_exists(engine):
    from ic3sync.model import SyncResult
    from ic3sync.notify import notice_for

    result = SyncResult(run_id=5, total=3, success=3, status="completed", duration_ms=900)
    assert notice_for(engine, "cli", result, None).changes == {}

    seed_assets(engine, ["A_1", "A_2", "A_3"])
    with engine.connect() as conn:
        ids = dict(
            conn.execute(sa.select(asset_master.c.cmms_asset_id, asset_master.c.asset_id)).all()
        )
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(asset_change),
            [
                {"asset_id": ids[f"A_{asset}"], "cmms_asset_id": f"A_{asset}", "run_id": run,
                 "table_name": "ic3_asset_master", "column_name": column,
                 "old_value": "a", "new_value": "b", "changed_at": now, "source": source}
                for asset, run, column, source in [
                    (1, 5, "criticality", "cmms"), (2, 5, "criticality", "cmms"),
                    (2, 5, "in_charge_person", "cmms"), (3, 4, "barcode", "cmms"),
                    # An import's edit while the run went: not a change the CMMS made.
                    (3, None, "criticality", "register"),
                ]
            ],
        )  # fmt: skip
    notice = notice_for(engine, "cli", result, "https://ic3.example.org")
    assert notice.changes == {"criticality": 2, "in_charge_person": 1}
    assert "Changed: criticality: 2 assets, in_charge_person: 1 asset" in notice.text()
    assert notice.as_json()["changes_url"] == "https://ic3.example.org/runs/5#run-changes"


def test_a_run_whose_process_died_is_notified_by_the_next_run_that_finds_it(engine, simulator):

    from ic3sync.db.schema import sync_log, sync_run

    seed_assets(engine, GOOD)
    began = datetime.now(UTC) - timedelta(hours=3)
    with engine.begin() as conn:
        dead = conn.execute(
            sa.insert(sync_run)
            .values(
                trigger="schedule",
                scope="full",
                status="running",
                total=40,
                started_at=began,
                pid=1,
            )
            .returning(sync_run.c.run_id)
        ).scalar_one()
        conn.execute(
            sa.insert(sync_log),
            [
                {"run_id": dead, "cmms_asset_id": GOOD[0], "status": "success", "synced_at": began,
                 "error_message": None, "http_status": 200, "error_kind": None},
                {"run_id": dead, "cmms_asset_id": "X_1", "status": "failed", "synced_at": began,
                 "error_message": "HTTP 503 after 4 attempts", "http_status": 503,
                 "error_kind": "server_error"},
            ],
        )  # fmt: skip
    with webhook_receiver() as hook:
        manager, notifications, _ = _manager(
            _settings(engine, simulator.url, notify_webhook_url=hook.url), engine
        )
        result = _run(manager)
        assert notifications.drain(10)
        bodies = list(hook.bodies)
    assert result.status == "completed" and result.failed == 0
    # Only the interrupted run is a problem; the clean run that found it is not sent.
    assert [b["run_id"] for b in bodies] == [dead]
    body = bodies[0]
    assert (body["status"], body["trigger"]) == ("interrupted", "schedule")
    assert body["counts"] == {"total": 40, "success": 1, "failed": 1, "skipped": 0}
    assert body["failures"] == [
        {"cmms_asset_id": "X_1", "reason": "HTTP 503 after 4 attempts", "kind": "server_error",
         "new": True, "failing_since_run": None, "failing_since": None, "failed_runs": 1}
    ]  # fmt: skip
    assert body["new_failures"] == {"count": 1, "by_kind": {"server_error": 1}}
    assert "stopped without finishing" in body["error"] and body["duration_ms"] >= 3 * 3600_000


def test_a_mail_server_whose_certificate_is_not_trusted_is_refused(smtp):
    from pydantic import SecretStr

    from ic3sync.notify import MailNotifier, parse_smtp_url, sample_notice

    # The system's trust store, as in production: the suite's throwaway CA is not in it.
    mail = MailNotifier(parse_smtp_url(SecretStr(smtp.url())), ["ops@example.org"])
    (delivery,) = Notifications([mail], backoff_s=0).deliver(sample_notice(None))
    assert not delivery.ok and "TLS failed (CERTIFICATE_VERIFY_FAILED)" in delivery.detail
    assert smtp.mails == []


def test_a_mail_server_without_starttls_gets_neither_password_nor_mail():
    from aiosmtpd.controller import Controller
    from pydantic import SecretStr

    from ic3sync.notify import MailNotifier, parse_smtp_url, sample_notice
    from tests.receivers import MailHandler

    handler, port = MailHandler(), free_port()
    plain = Controller(handler, hostname="127.0.0.1", port=port)
    plain.start()
    try:
        url = SecretStr(f"smtp://u:{SMTP_PASSWORD}@127.0.0.1:{port}")
        mail = MailNotifier(parse_smtp_url(url), ["ops@example.org"])
        (delivery,) = Notifications([mail], backoff_s=0).deliver(sample_notice(None))
    finally:
        plain.stop()
    assert not delivery.ok and delivery.attempts == 1
    assert "offers no STARTTLS" in delivery.detail and handler.mails == []


def test_an_internal_relay_without_tls_or_login_delivers_over_smtp_plain():
    from ic3sync.notify import sample_notice
    from tests.receivers import smtp_relay

    with smtp_relay() as relay:
        settings = Settings(notify_email_to=TO[0], smtp_url=relay.url())
        (delivery,) = Notifications.from_settings(settings, backoff_s=0).deliver(
            sample_notice(None)
        )
        mails = list(relay.mails)
    assert delivery.ok and delivery.attempts == 1, delivery.detail
    assert [m.recipients for m in mails] == [[TO[0]]]
    assert not mails[0].tls and mails[0].login is None
    assert mails[0].message["Subject"].startswith("[sample] ic3sync run 0")


def test_a_relay_signed_by_a_private_ca_delivers_with_ic3_smtp_ca_file(smtp):
    from ic3sync.notify import sample_notice

    settings = Settings(notify_email_to=TO[0], smtp_url=smtp.url(), smtp_ca_file=str(smtp.ca_file))
    # No test trust store handed in: the CA file the setting names is what is trusted.
    (delivery,) = Notifications.from_settings(settings, backoff_s=0).deliver(sample_notice(None))
    assert delivery.ok, delivery.detail
    mail = smtp.wait()[0]
    assert mail.tls and mail.login == "ic3sync@example.org"


def test_a_relay_certificate_that_fails_verification_is_tried_once_naming_the_setting(
    smtp, tmp_path, caplog
):
    import trustme

    from ic3sync.notify import sample_notice

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    for ca_file, trusted_by in [(None, "the system"), (str(other_ca), "IC3_SMTP_CA_FILE")]:
        settings = Settings(notify_email_to=TO[0], smtp_url=smtp.url(), smtp_ca_file=ca_file)
        metrics = SyncMetrics()
        notifications = Notifications.from_settings(settings, metrics=metrics, backoff_s=0)
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="ic3sync"):
            (delivery,) = notifications.deliver(sample_notice(None))
        assert not delivery.ok and delivery.attempts == 1
        assert "TLS failed (CERTIFICATE_VERIFY_FAILED)" in delivery.detail
        assert f"not trusted by {trusted_by}" in delivery.detail
        assert "set IC3_SMTP_CA_FILE to the CA bundle (PEM) that signed it" in delivery.detail
        assert "not delivered after 1 attempt(s)" in caplog.text
        assert "IC3_SMTP_CA_FILE" in caplog.text and "retrying" not in caplog.text
        assert SMTP_PASSWORD not in caplog.text
        assert 'channel="email",outcome="retried"' not in metrics.render().decode()
    assert smtp.mails == []


def test_problems_tells_new_failures_and_keeps_quiet_about_those_already_told(engine):
    from ic3sync.sync import one_asset

    late, fresh = "Site Z_LATE_03", "Site Z_FRESH_04"
    faults = {**FAULTS, late: "not_found", fresh: "not_found"}
    seed_assets(engine, GOOD + BROKEN)
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults=faults)) as sim,
        webhook_receiver() as hook,
    ):
        manager, notifications, _ = _manager(
            _settings(engine, sim.url, notify_webhook_url=hook.url), engine
        )

        def told(run) -> list[int]:  # type: ignore[no-untyped-def]
            run_id = run().run_id
            assert notifications.drain(10)
            return [b["run_id"] for b in hook.bodies if b["run_id"] == run_id]

        first = _run(manager)
        assert [b["run_id"] for b in hook.wait()] == [first.run_id]
        # The same failures again: already told.
        assert told(lambda: _run(manager)) == []
        # A sync-one is the operator's own look at one asset.
        seed_assets(engine, [late], start_seq=10)
        assert told(lambda: manager.start(one_asset(late)).wait(60)) == []
        # LATE failed before only in the sync-one, which told nobody; FRESH never ran.
        seed_assets(engine, [fresh], start_seq=11)
        third = _run(manager)
        assert notifications.drain(10)
        body = hook.wait(2)[-1]

    assert body["run_id"] == third.run_id and body["counts"]["failed"] == 4
    assert body["new_failures"] == {"count": 1, "by_kind": {"http_404": 1}}
    assert body["still_failing"] == {"count": 3, "by_kind": {"http_404": 2, "not_json": 1}}
    listed = {f["cmms_asset_id"]: f for f in body["failures"]}
    assert body["failures"][0]["cmms_asset_id"] == fresh and listed[fresh]["new"]
    assert listed[fresh]["failing_since_run"] is None and listed[fresh]["failed_runs"] == 1
    assert (listed[BROKEN[0]]["failing_since_run"], listed[BROKEN[0]]["failed_runs"]) == (
        first.run_id,
        3,
    )
    assert not listed[late]["new"] and listed[late]["failed_runs"] == 2
    since = datetime.fromisoformat(listed[BROKEN[0]]["failing_since"])
    assert abs(since - datetime.now(UTC)) < timedelta(minutes=5)
    text = body["text"]
    assert "New failures: 1 (http_404 1); still failing: 3 (http_404 2, not_json 1)" in text
    assert text.index("New failures:\n- " + fresh) < text.index("Still failing:\n")
    assert f"failing since run {first.run_id} on {since.date().isoformat()}, 3 runs" in text


def test_an_asset_that_succeeded_in_between_fails_anew(engine):
    from ic3sync.db.schema import sync_log, sync_run
    from ic3sync.model import SyncResult
    from ic3sync.notify import notice_for

    now = datetime.now(UTC)
    with engine.begin() as conn:
        runs = [
            conn.execute(
                sa.insert(sync_run)
                .values(trigger="schedule", scope="full", status="completed", started_at=now)
                .returning(sync_run.c.run_id)
            ).scalar_one()
            for _ in range(4)
        ]
        outcomes = {
            "A_1": ["failed", "success", "failed", "failed"],
            "A_2": [None, None, None, "failed"],
            "A_3": ["failed", "failed", "skipped", "failed"],
        }
        for asset, statuses in outcomes.items():
            for run_id, status in zip(runs, statuses, strict=True):
                if status is not None:
                    conn.execute(
                        sa.insert(sync_log).values(
                            run_id=run_id, cmms_asset_id=asset, status=status, synced_at=now,
                            error_message="HTTP 404", error_kind="http_404"
                            if status == "failed" else None,
                        )
                    )  # fmt: skip
    result = SyncResult(run_id=runs[3], total=3, failed=3, status="completed")
    notice = notice_for(engine, "schedule", result, None)
    by_asset = {f.cmms_asset_id: f for f in notice.failures}
    assert (by_asset["A_1"].runs, by_asset["A_1"].since_run) == (2, runs[2])
    assert by_asset["A_2"].new
    assert (by_asset["A_3"].runs, by_asset["A_3"].since_run) == (3, runs[0])
    assert notice.new_by_kind == {"http_404": 1} and notice.still_by_kind == {"http_404": 2}
    # A_1 and A_3 were told in runs 3 and 1; A_2 is new.
    assert notice.untold == 1 and notice.is_problem


def test_a_scheduled_tick_skipped_because_a_run_is_going_is_told(engine):
    seed_assets(engine, GOOD)
    slow = SimulatorConfig(token=TOKEN, latency_ms=400)
    with Simulator(slow) as sim, webhook_receiver() as hook:
        settings = _settings(engine, sim.url, notify_webhook_url=hook.url)
        manager, notifications, metrics = _manager(settings, engine)
        going = manager.start(AssetSelection(), trigger="api")
        manager.scheduled_tick()
        going.wait(60)
        assert notifications.drain(10)
        bodies = list(hook.bodies)
    # The clean run itself is not told on `problems`; the skipped tick is.
    assert len(bodies) == 1
    body = bodies[0]
    assert (body["event"], body["run_id"]) == ("schedule_skipped", going.run_id)
    assert body["text"].startswith(
        f"ic3sync scheduled run skipped: run {going.run_id} was still going\n"
    )
    assert "It is not queued" in body["text"]
    assert body["url"] == f"https://ic3sync.example.org/runs/{going.run_id}"
    assert 'channel="webhook",outcome="sent"} 1.0' in metrics.render().decode()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cmms_sync_run")).scalar() == 1


def test_no_full_run_for_ic3_stale_after_h_is_told_once_until_one_completes(engine):
    from ic3sync.db.schema import sync_run
    from ic3sync.notify.staleness import StalenessWatch

    clock = [datetime(2026, 12, 1, 2, 0, tzinfo=UTC)]

    def finished(hours_ago: float, **filters: object) -> None:
        at = clock[0] - timedelta(hours=hours_ago)
        with engine.begin() as conn:
            scope = "asset" if "cmms_asset_id" in filters else "partial" if filters else "full"
            conn.execute(
                sa.insert(sync_run).values(
                    trigger="schedule", status="completed", started_at=at, finished_at=at,
                    scope=scope, **filters,
                )
            )  # fmt: skip

    with webhook_receiver() as hook:
        settings = _settings(engine, "http://127.0.0.1:9", notify_webhook_url=hook.url)
        notifications = Notifications.from_settings(settings, engine)
        watch = StalenessWatch(engine, notifications, 26, now=lambda: clock[0])

        # A fresh install with no run yet is not stale until 26 h after the service started.
        assert not watch.check()
        clock[0] += timedelta(hours=27)
        assert watch.check() and watch.check()
        assert notifications.drain(10)
        assert [b["event"] for b in hook.bodies] == ["stale"]
        assert "No full run has completed since this service started" in hook.bodies[0]["text"]

        # Partial runs, a sync-one and an aborted full run do not make the register current.
        finished(1, customer_id=24463)
        finished(1, cmms_asset_id="A_1")
        finished(1, batch_size=100)
        with engine.begin() as conn:
            conn.execute(
                sa.insert(sync_run).values(
                    trigger="schedule",
                    scope="full",
                    status="aborted",
                    started_at=clock[0],
                    finished_at=clock[0],
                )
            )
        assert watch.check()
        finished(30)
        assert watch.check()
        assert notifications.drain(10)
        assert len(hook.bodies) == 2
        assert hook.bodies[1]["text"].startswith(
            "ic3sync: no full run has completed for 26 hours\nThe last full run completed at "
            f"{clock[0] - timedelta(hours=30):%Y-%m-%d %H:%M} UTC; IC3_STALE_AFTER_H is 26."
        )

        # A full run completes: no longer stale, and the next staleness is told again.
        finished(0)
        assert not watch.check()
        clock[0] += timedelta(hours=26)
        assert watch.check() and watch.check()
        assert notifications.drain(10)
        assert [b["event"] for b in hook.bodies] == ["stale"] * 3


def test_a_scheduled_tick_missed_beyond_the_grace_is_told():
    from zoneinfo import ZoneInfo

    with webhook_receiver() as hook:
        notifications = Notifications.from_settings(Settings(notify_webhook_url=hook.url))
        due = datetime(2026, 12, 7, 2, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
        notifications.tick_missed(due, timedelta(hours=3, minutes=5))
        assert notifications.drain(10)
        body = hook.wait()[0]
    assert (body["event"], body["run_id"]) == ("schedule_missed", None)
    assert body["text"].startswith(
        "ic3sync scheduled run missed: due at 2026-12-07 02:00 IST\n"
        "The service was down when it was due and started 185 minutes later, more than "
        "IC3_SCHEDULE_GRACE_MIN: it was not run."
    )
