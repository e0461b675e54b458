"""The dashboard's security edges against `ic3sync serve` as a process, on SQLite and PostgreSQL:
a login with an empty token, markup inside a vendor's error message, and the Origin check of
every form that changes something, each proved by a request a browser on another site (or a
careless operator) could send."""

from __future__ import annotations

import html
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import ADMIN_TOKEN, PREFIX, ServerProcess
from tests.helpers import seed_assets, table_rows
from tests.procs import simulator_process

MARKUP = "<img src=x onerror=alert(1)>"
# The simulator's "status": false answer quotes the serialnumber in its message, so this id
# puts vendor-supplied markup into the asset's logged error message.
HTML_ID = f"Pump {MARKUP} 01"
# At INNOMAINT_RATE_MS=100 a run of these lasts several seconds: long enough to be cancelled.
SLOW_IDS = [f"Slow Pump {n:02d}" for n in range(60)]
FOREIGN = "http://evil.example"


@pytest.fixture(scope="module")
def api_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """In this module, `start_server`'s simulator answers "status": false for HTML_ID."""
    with simulator_process(
        tmp_path_factory.mktemp("markup-sim"), faults={HTML_ID: "status_false"}
    ) as url:
        yield url


def browser(server: ServerProcess) -> httpx.Client:
    """A client that keeps cookies and shows redirects, as the tests need to see them."""
    return httpx.Client(base_url=server.url, follow_redirects=False, timeout=30)


def log_in(client: httpx.Client, server: ServerProcess) -> None:
    answer = client.post(
        "/login", data={"token": ADMIN_TOKEN, "next": "/"}, headers={"Origin": server.url}
    )
    assert answer.status_code == 303, answer.text
    assert client.get("/").status_code == 200


def run_count(engine: sa.Engine) -> int:
    return len(table_rows(engine, "cmms_sync_run"))


@pytest.mark.parametrize(
    "form", [{"token": ""}, {"token": "   "}, {}], ids=["empty", "blank", "none"]
)
def test_a_login_without_a_token_is_refused(register, start_server, form):
    server = start_server()
    with browser(server) as client:
        refused = client.post("/login", data={**form, "next": "/"}, headers={"Origin": server.url})
        assert refused.status_code == 401
        assert "not the admin token" in refused.text
        # No session came of it: every page still sends the visitor to the login.
        home = client.get("/")
        assert home.status_code == 303 and home.headers["location"].startswith("/login")
        assert client.get("/runs").status_code == 303
        # The same client gets in with the token, so the refusal above was the token's.
        log_in(client, server)


def test_a_vendor_error_message_with_markup_is_shown_escaped_in_the_run_log(start_server, register):
    seed_assets(register, ["Plain Pump 01", HTML_ID])
    server = start_server()
    result = server.http.post(f"{PREFIX}/sync").json()
    assert (result["success"], result["failed"]) == (1, 1), result
    [failed] = [r for r in table_rows(register, "cmms_sync_log") if r["status"] == "failed"]
    assert MARKUP in failed["error_message"]  # the message really carries the markup

    with browser(server) as client:
        log_in(client, server)
        for query in ("", "?status=failed"):
            page = client.get(f"/runs/{result['run_id']}{query}")
            assert page.status_code == 200
            assert MARKUP not in page.text
            assert "serial number Pump &lt;img src=x onerror=alert(1)&gt; 01" in page.text


def test_every_form_that_changes_something_refuses_a_foreign_origin(start_server, register):
    seed_assets(register, SLOW_IDS)
    server = start_server(INNOMAINT_RATE_MS="100")
    run_id = server.http.post(f"{PREFIX}/sync", params={"wait": "false"}).json()["run_id"]
    server.wait_for_run(run_id, lambda run: run["status"] == "running" and run["done"] >= 1)
    forms = [
        f"/sync/{SLOW_IDS[0].replace(' ', '%20')}",
        f"/runs/{run_id}/cancel",
        f"/runs/{run_id}/rerun-failed",
        "/runs",
        "/logout",
        "/login",
    ]
    forged = [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Referer": f"{FOREIGN}/page"},
        {"Origin": FOREIGN, "Referer": f"{server.url}/runs"},
        {},  # neither Origin nor Referer
    ]
    with browser(server) as client:
        log_in(client, server)
        for path in forms:
            for headers in forged:
                answer = client.post(path, headers=headers, data={"batch": "1"})
                assert answer.status_code == 403, (path, headers, answer.status_code)
        # Nothing happened: the run goes on, no other run started, and the session holds.
        run = server.http.get(f"{PREFIX}/runs/{run_id}").json()
        assert run["status"] == "running"
        assert run_count(register) == 1
        assert client.get("/").status_code == 200

        # From this dashboard's own page the same forms work.
        own = {"Origin": server.url}
        cancelled = client.post(f"/runs/{run_id}/cancel", headers=own)
        assert cancelled.status_code == 303
        server.wait_for_run(run_id, lambda run: run["status"] == "cancelled")
        synced = client.post(forms[0], headers={"Referer": f"{server.url}/assets/x"})
        assert synced.status_code == 303
        assert run_count(register) == 2
        runs = table_rows(register, "cmms_sync_run", "run_id")
        assert [(r["trigger"], r["scope"]) for r in runs] == [
            ("api", "partial"),
            ("dashboard", "asset"),
        ]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_start_on_an_empty_register_says_to_import_it_and_starts_nothing(start_server, register):
    server = start_server()
    with browser(server) as client:
        log_in(client, server)
        answer = client.post("/runs", headers={"Origin": server.url}, data={"batch": ""})
        assert answer.status_code == 200, answer.text
        text = html.unescape(answer.text)
        assert (
            "No run was started: ic3_asset_master holds no asset yet: import the register first "
            "(`ic3sync import-assets FILE`)." in text
        )
        filtered = client.post("/runs", headers={"Origin": server.url}, data={"batch": "2"})
        assert "No asset matches batch 2 in ic3_asset_master: no run was started." in (
            html.unescape(filtered.text)
        )
    assert run_count(register) == 0
