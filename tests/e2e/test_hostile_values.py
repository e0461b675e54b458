"""Hostile vendor values against the real processes, on SQLite and PostgreSQL: a lone surrogate,
a NUL, control characters or a 4 MiB serialnumber in an answer never abort a run, give a 500 or
print a traceback (contract rule 13), and a password in a URL's query is never printed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import PREFIX, serving
from tests.helpers import seed_assets, table_rows
from tests.procs import base_env, run_cli, simulator_process

SURROGATE = "Site S_SURROGATE_01"
NUL = "Site N_NUL_01"
CONTROLS = "Site C_CONTROL_01"
HUGE_SERIAL = "Site H_SERIAL_01"
FAULTS = {
    SURROGATE: "surrogates",
    NUL: "nul",
    CONTROLS: "control_chars",
    HUGE_SERIAL: {"kind": "huge_serial", "mb": 4},
}
PLAIN = "Site P_PLAIN_01"
TRACEBACK = "Traceback (most recent call last)"


@pytest.fixture(scope="module")
def hostile_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("hostile-values"), faults=FAULTS) as url:
        yield url


def url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def assert_clean(*texts: str) -> None:
    """No traceback, no raw escape sequence, no CR: nothing the vendor could have forged."""
    for text in texts:
        assert TRACEBACK not in text, text[-3000:]
        assert "\x1b" not in text and "\r" not in text and "\x07" not in text, text[-3000:]


def test_the_cli_syncs_hostile_values_without_aborting_or_a_traceback(register, hostile_vendor):
    ids = [SURROGATE, NUL, CONTROLS, HUGE_SERIAL, PLAIN]
    seed_assets(register, ids)
    env = base_env(url_of(register), hostile_vendor)
    done = run_cli("sync", "--json", env=env)
    one = run_cli("sync-one", SURROGATE, "--json", env=env)
    assert_clean(done.stdout, done.stderr, one.stdout, one.stderr)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["status"], result["success"], result["failed"]) == ("completed", 4, 1), result
    assert done.returncode == 3 and one.returncode == 0, one.stderr
    (reason,) = result["errors"]
    assert (
        reason.startswith(f"{HUGE_SERIAL}: API answered for serialnumber 'SSS")
        and len(reason) < 350
    )
    log = {r["cmms_asset_id"]: r["error_message"] for r in table_rows(register, "cmms_sync_log")}
    assert "invalid Unicode replaced with U+FFFD in data.barcode" in log[SURROGATE]
    assert "NUL replaced with U+FFFD in data.barcode" in log[NUL]
    assert log[PLAIN] is None


def test_the_service_syncs_hostile_values_without_a_500(
    register, hostile_vendor, tmp_path: Path
) -> None:
    seed_assets(register, [SURROGATE, NUL, CONTROLS, PLAIN])
    # No admin token: on loopback the pages show without a login.
    with serving(url_of(register), hostile_vendor, tmp_path, IC3_ADMIN_TOKEN="") as server:
        one = server.http.post(f"{PREFIX}/sync/{SURROGATE.replace(' ', '%20')}")
        run = server.http.post(f"{PREFIX}/sync", params={"batch": 100})
        page = server.http.get(f"/assets/{SURROGATE.replace(' ', '%20')}", follow_redirects=True)
    assert one.status_code == 200 and one.json()["status"] == "synced", one.text
    assert run.status_code == 200, run.text
    assert (run.json()["success"], run.json()["failed"]) == (4, 0), run.json()
    assert page.status_code == 200 and "\ufffd" in page.text
    assert_clean(server.log())


def test_a_password_in_the_database_urls_query_is_never_printed() -> None:
    url = "postgresql://u@127.0.0.1:1/db?password=S3cretPw&sslpassword=S3cretPw"
    done = run_cli("migrate", env=base_env(url))
    status = run_cli("status", env=base_env(url))
    assert done.returncode == 1, done.stderr
    assert "cannot reach the database" in done.stderr
    for text in (done.stdout, done.stderr, status.stdout, status.stderr):
        assert "S3cretPw" not in text
