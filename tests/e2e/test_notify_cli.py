"""Notifications from `ic3sync` as a process, on SQLite and PostgreSQL: `sync` and `sync-one`
send their run's notice before they exit, a webhook that is down or slow leaves their exit code
alone and delays their exit by a bounded time, and `notify-test` says what happened."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from tests.helpers import TOKEN, seed_assets, table_rows
from tests.procs import base_env, free_port, reset_simulator, run_cli, simulator_process
from tests.receivers import SMTP_PASSWORD, SmtpServer, smtp_server, webhook_receiver

GOOD = ["Plant 01_PUMP_01", "Plant 02_PUMP_02"]
BROKEN = "Site Z_BROKEN_01"
FAULTS = {BROKEN: "not_found", "Site Z_HTML_02": "non_json"}
SECRET_PATH = "/hooks/T0001/B0002/cli-webhook-secret"


@pytest.fixture(scope="module")
def module_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator process that fails two assets, for the module."""
    with simulator_process(tmp_path_factory.mktemp("notify-sim"), faults=FAULTS) as api:
        yield api


@pytest.fixture
def env(migrated_db_url: str, module_simulator: str) -> dict[str, str]:
    """A migrated, seeded database and the simulator, its stats cleared."""
    env = base_env(
        migrated_db_url, IC3_NOTIFY_TIMEOUT_S="1", IC3_PUBLIC_URL="https://ic3.example.org"
    )
    engine = make_engine(migrated_db_url)
    seed_assets(engine, [*GOOD, *FAULTS])
    engine.dispose()
    reset_simulator(module_simulator)
    env["INNOMAINT_API_URL"] = module_simulator
    return env


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[SmtpServer]:
    with smtp_server(tmp_path) as server:
        yield server


def _mail_env(env: dict[str, str], smtp: SmtpServer) -> dict[str, str]:
    # The process trusts the test CA through OpenSSL's own variable; verification stays on.
    return {
        **env,
        "IC3_SMTP_URL": smtp.url(),
        "IC3_NOTIFY_EMAIL_TO": "ops@example.org; night@example.org",
        "SSL_CERT_FILE": str(smtp.ca_file),
    }


def _sync(env: dict[str, str], *args: str) -> tuple[int, dict, str, datetime]:
    """The exit code, the JSON line, stderr, and when the process had exited."""
    done = run_cli(*args, env=env, timeout=60)
    exited = datetime.now(UTC)
    # No JSON line (a crash) leaves the result empty: the exit code's assertion says so first.
    lines = done.stdout.strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    return done.returncode, result, done.stderr, exited


def _exit_delay(env: dict[str, str], exited: datetime) -> float:
    """Seconds from the end of the newest run (its finished_at) to the process's exit: the time
    its notice took, whatever the process's start-up and the run took on a loaded machine."""
    engine = make_engine(env["IC3_DATABASE_URL"])
    try:
        finished = table_rows(engine, "cmms_sync_run", "run_id")[-1]["finished_at"]
    finally:
        engine.dispose()
    if finished.tzinfo is None:  # SQLite keeps no offset: the service writes UTC
        finished = finished.replace(tzinfo=UTC)
    return (exited - finished).total_seconds()


def test_sync_mails_and_posts_its_notice_before_it_exits(env, smtp):
    with webhook_receiver(SECRET_PATH) as hook:
        code, result, stderr, _ = _sync(
            {**_mail_env(env, smtp), "IC3_NOTIFY_WEBHOOK_URL": hook.url}, "sync", "--json"
        )
        bodies = list(hook.bodies)
    assert code == 3, stderr
    assert len(bodies) == 1 and bodies[0]["run_id"] == result["run_id"]
    assert bodies[0]["trigger"] == "cli" and bodies[0]["failures"][0]["cmms_asset_id"] == BROKEN
    assert bodies[0]["url"] == f"https://ic3.example.org/runs/{result['run_id']}"
    mail = smtp.wait()[0]
    assert sorted(mail.recipients) == ["night@example.org", "ops@example.org"]
    assert mail.tls and f"run {result['run_id']} completed with failures" in mail.message["Subject"]
    assert SMTP_PASSWORD not in stderr and TOKEN not in stderr
    if samples := os.environ.get("IC3_NOTIFY_SAMPLES"):
        # `make notify-samples`: the samples docs/operations.md links to, from this very run.
        out = Path(samples)
        out.mkdir(parents=True, exist_ok=True)
        (out / "webhook.json").write_text(json.dumps(bodies[0], indent=2) + "\n")
        (out / "mail.eml").write_bytes(mail.raw.replace(b"\r\n", b"\n"))


@pytest.mark.parametrize("answer", ["down", "slow"])
def test_a_webhook_down_or_slow_keeps_the_exit_code_and_bounds_the_delay(env, answer):
    if answer == "down":
        url = f"http://127.0.0.1:{free_port()}{SECRET_PATH}"
        code, result, stderr, exited = _sync(
            {**env, "IC3_NOTIFY_WEBHOOK_URL": url}, "sync", "--json"
        )
    else:
        with webhook_receiver(SECRET_PATH, delay_s=30) as hook:
            hooked = {**env, "IC3_NOTIFY_WEBHOOK_URL": hook.url}
            code, result, stderr, exited = _sync(hooked, "sync", "--json")
            assert len(hook.bodies) >= 1
    assert code == 3, stderr
    assert (result["failed"], result["success"]) == (2, 2)
    assert "not delivered" in stderr or "abandoned" in stderr
    assert "cli-webhook-secret" not in stderr
    # IC3_NOTIFY_TIMEOUT_S=1: the delivery and its retries get 3 s (the slow receiver would hold
    # the process 30 s); the rest is the process's exit.
    delay = _exit_delay(env, exited)
    assert 0 <= delay < 10, delay


def test_sync_one_of_a_failing_asset_is_notified_only_when_every_run_is(env):
    # The operator who syncs one asset sees its outcome; `problems` does not tell it again.
    with webhook_receiver(SECRET_PATH) as hook:
        hooked = {**env, "IC3_NOTIFY_WEBHOOK_URL": hook.url}
        code, result, stderr, _ = _sync(hooked, "sync-one", BROKEN, "--json")
        quiet = list(hook.bodies)
        _, always, _, _ = _sync({**hooked, "IC3_NOTIFY_ON": "always"}, "sync-one", BROKEN, "--json")
        bodies = list(hook.bodies)
    assert code == 3 and result["status"] == "failed", stderr
    assert quiet == []
    assert [b["run_id"] for b in bodies] == [always["run_id"]]
    assert bodies[0]["counts"]["failed"] == 1


def test_notify_test_says_what_each_channel_did(env, smtp):
    down = f"http://127.0.0.1:{free_port()}{SECRET_PATH}"
    with webhook_receiver(SECRET_PATH) as hook:
        ok = run_cli(
            "notify-test", env={**_mail_env(env, smtp), "IC3_NOTIFY_WEBHOOK_URL": hook.url}
        )
        bodies = list(hook.bodies)
    assert ok.returncode == 0, ok.stderr
    assert "sent webhook to 127.0.0.1" in ok.stdout
    assert f"sent mail to 2 addresses via 127.0.0.1:{smtp.port}" in ok.stdout
    assert bodies[0]["sample"] is True and smtp.wait()[0].message["Subject"].startswith("[sample]")

    failed = run_cli("notify-test", env={**env, "IC3_NOTIFY_WEBHOOK_URL": down})
    assert failed.returncode == 1
    assert "failed webhook to 127.0.0.1: ConnectError" in failed.stderr
    assert "cli-webhook-secret" not in failed.stdout + failed.stderr

    nothing = run_cli("notify-test", env=env)
    assert nothing.returncode == 1 and "no notification is configured" in nothing.stderr


@pytest.mark.parametrize(
    ("half", "missing"),
    [
        ({"IC3_NOTIFY_EMAIL_TO": "ops@example.org"}, "IC3_SMTP_URL"),
        ({"IC3_SMTP_URL": "smtp://mail.example.org:25"}, "IC3_NOTIFY_EMAIL_TO"),
    ],
)
def test_a_half_mail_setting_stops_sync_at_start_before_any_run(env, db_url, half, missing):
    done = run_cli("sync", env={**env, **half})
    assert done.returncode == 1
    assert done.stderr == (
        "error: mail notifications need both IC3_NOTIFY_EMAIL_TO and IC3_SMTP_URL: "
        f"{missing} is not set\n"
    )
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cmms_sync_run")).scalar() == 0
    engine.dispose()


def test_notify_test_mails_through_a_relay_trusted_by_ic3_smtp_ca_file(env, smtp):
    mail_env = {
        **env,
        "IC3_SMTP_URL": smtp.url(),
        "IC3_NOTIFY_EMAIL_TO": "ops@example.org",
        "IC3_SMTP_CA_FILE": str(smtp.ca_file),
    }
    done = run_cli("notify-test", env=mail_env)
    assert done.returncode == 0, done.stderr
    assert smtp.wait()[0].tls

    untrusted = run_cli("notify-test", env={**mail_env, "IC3_SMTP_CA_FILE": ""})
    assert untrusted.returncode == 1
    assert "IC3_SMTP_CA_FILE" in untrusted.stdout + untrusted.stderr
    assert len(smtp.mails) == 1


def test_notify_test_mails_through_an_internal_relay_without_tls(env):
    from tests.receivers import smtp_relay

    with smtp_relay() as relay:
        done = run_cli(
            "notify-test",
            env={**env, "IC3_SMTP_URL": relay.url(), "IC3_NOTIFY_EMAIL_TO": "ops@example.org"},
        )
        mails = list(relay.mails)
    assert done.returncode == 0, done.stderr
    assert len(mails) == 1 and not mails[0].tls


def test_smtp_plain_with_a_password_stops_sync_at_start_without_showing_it(env, db_url):
    done = run_cli(
        "sync",
        env={
            **env,
            "IC3_SMTP_URL": "smtp+plain://relay-user:relay-pw-5e2a@127.0.0.1:25",
            "IC3_NOTIFY_EMAIL_TO": "ops@example.org",
        },
    )
    assert done.returncode == 1
    assert "IC3_SMTP_URL: smtp+plain:// sends without TLS" in done.stderr
    assert "relay-pw-5e2a" not in done.stdout + done.stderr
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM cmms_sync_run")).scalar() == 0
    engine.dispose()
