"""What an attack on a running service, and a vendor that misbehaves on purpose, must not
break: each test starts the real `ic3sync serve` (or CLI) and a simulator process, on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.e2e.conftest import ADMIN_TOKEN, PREFIX, asset_ids, launch_server, wait_ready
from tests.helpers import all_text, seed_assets, table_rows
from tests.procs import base_env, free_port, run_cli, simulator_process, start_cli

# A token with "/" and letters, as PHP's json_encode would escape them.
SLASH_TOKEN = "echo/Token-0123456789/abcdefXYZ"
DRIP = "Site D_DRIP_01"
ECHO = "Site E_ECHO_01"
HUGE = "Site H_HUGE_01"
HOSTILE = {
    DRIP: {"kind": "drip", "interval_s": 0.2},
    ECHO: "echo_token",
    HUGE: {"kind": "oversized", "mb": 3},
}


@pytest.fixture(scope="module")
def hostile_vendor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A simulator whose token holds "/" and that drips, echoes the token, or answers 3 MB."""
    where = tmp_path_factory.mktemp("hostile")
    with simulator_process(where, faults=HOSTILE, token=SLASH_TOKEN) as url:
        yield url


def drip_requests(api_url: str) -> int:
    """How often the hostile vendor has been asked for DRIP."""
    stats = httpx.get(api_url.split("/api/", 1)[0] + "/__stats", timeout=5).json()
    return int(stats["per_id"].get(DRIP, 0))


def wait_for_drip_request(api_url: str, before: int, proc: subprocess.Popen | None = None) -> None:
    """Until the vendor has been asked for DRIP once more than `before`: the request is in
    flight, and is held there by the drip."""
    deadline = time.monotonic() + 30
    while drip_requests(api_url) == before:
        assert proc is None or proc.poll() is None, proc and proc.communicate()
        assert time.monotonic() < deadline, "the vendor was never asked for the dripping asset"
        time.sleep(0.05)


def url_of(engine: sa.Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def closed_port_url(userinfo: str = "") -> str:
    return f"http://{userinfo}127.0.0.1:{free_port()}/api/getAssetIDDetailByAssetID"


def serve(db_url: str, api_url: str, tmp_path: Path, started: list, **env: str | None):
    server = launch_server(db_url, api_url, tmp_path, **env)
    started.append(server)
    wait_ready(server)
    return server


@pytest.fixture
def servers() -> Iterator[list]:
    started: list = []
    yield started
    for server in started:
        server.stop()


def login(http: httpx.Client, url: str, token: str, **headers: str) -> httpx.Response:
    return http.post(
        f"{url}/login",
        data={"token": token, "next": "/"},
        headers={"Origin": url, **headers},
        follow_redirects=False,
    )


# -- 1. the admin API's Host and Origin checks ------------------------------------------------


def test_without_a_token_the_admin_api_refuses_a_foreign_host_and_a_foreign_origin(
    register, start_server
):
    seed_assets(register, asset_ids(2))
    server = start_server(IC3_ADMIN_TOKEN="")
    http = server.http
    rebound = http.get(f"{PREFIX}/runs", headers={"Host": "attacker.example:9090"})
    assert rebound.status_code == 403, rebound.text
    foreign = {"Origin": "http://127.0.0.1:8000"}
    started = http.post(f"{PREFIX}/sync", params={"batch": 1}, headers=foreign)
    assert started.status_code == 403, started.text
    by_referer = http.post(f"{PREFIX}/sync", headers={"Referer": "http://localhost:3000/evil.html"})
    assert by_referer.status_code == 403
    sandboxed = http.post(f"{PREFIX}/sync", headers={"Origin": "null"})
    assert sandboxed.status_code == 403
    assert table_rows(register, "cmms_sync_run") == []
    # A script sends neither header, and a page of the service itself is its own origin.
    assert http.post(f"{PREFIX}/sync", params={"batch": 1}).status_code == 200
    own = http.post(f"{PREFIX}/sync", params={"batch": 1}, headers={"Origin": server.url})
    assert own.status_code == 200, own.text


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_host_with_a_loopback_address_before_an_at_sign_is_foreign(register, start_server):
    server = start_server(IC3_ADMIN_TOKEN="")
    port = server.url.rsplit(":", 1)[1]
    forged = {"Host": f"127.0.0.1:{port}@evil.example"}
    api = httpx.get(f"{server.url}{PREFIX}/runs", headers=forged)
    assert api.status_code == 403, api.text
    page = httpx.get(f"{server.url}/", headers=forged)
    assert page.status_code == 403, page.text
    assert httpx.get(f"{server.url}{PREFIX}/runs").status_code == 200


# -- 2. one deadline per attempt; a cancel or SIGTERM ends the request in flight ----------------


def test_a_dripping_vendor_holds_an_asset_no_longer_than_the_timeout(
    register, hostile_vendor, tmp_path, servers
):
    seed_assets(register, [DRIP])
    env = {"INNOMAINT_API_TOKEN": SLASH_TOKEN, "INNOMAINT_TIMEOUT_S": "1"}
    server = serve(
        url_of(register), hostile_vendor, tmp_path, servers, **env, INNOMAINT_MAX_RETRIES="0"
    )
    started = time.monotonic()
    answer = server.http.post(f"{PREFIX}/sync/{DRIP}")
    held = time.monotonic() - started
    assert answer.status_code == 502, answer.text
    assert "no answer within 1 s" in answer.json()["detail"]
    # The whole answer would take ~8 minutes at one byte every 0.2 s.
    assert held < 3, held


def test_a_cancel_ends_the_request_in_flight_to_a_dripping_vendor(
    register, hostile_vendor, tmp_path, servers
):
    seed_assets(register, [DRIP])
    env = {"INNOMAINT_API_TOKEN": SLASH_TOKEN, "INNOMAINT_TIMEOUT_S": "60"}
    server = serve(url_of(register), hostile_vendor, tmp_path, servers, **env)
    asked = drip_requests(hostile_vendor)
    run_id = server.http.post(f"{PREFIX}/sync", params={"wait": "false"}).json()["run_id"]
    server.wait_for_run(run_id, lambda r: r["current_asset"] == DRIP)
    wait_for_drip_request(hostile_vendor, asked)
    started = time.monotonic()
    cancelled = server.http.post(f"{PREFIX}/runs/{run_id}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    run = server.wait_for_run(run_id, lambda r: r["status"] != "running", timeout=5)
    assert run["status"] == "cancelled"
    assert time.monotonic() - started < 3


def test_sigterm_ends_a_cli_run_held_by_a_dripping_vendor(register, hostile_vendor):
    seed_assets(register, [DRIP, *asset_ids(2)])
    env = base_env(
        url_of(register), hostile_vendor, INNOMAINT_API_TOKEN=SLASH_TOKEN, INNOMAINT_TIMEOUT_S="60"
    )
    asked = drip_requests(hostile_vendor)
    proc = start_cli("sync", "--json", env=env)
    wait_for_drip_request(hostile_vendor, asked, proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 4, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "cancelled" and result["success"] == 0, result


# -- 3. the token in JSON escapes; 4. an oversized answer ----------------------------------------


def test_a_token_echoed_in_json_escapes_is_stored_and_served_nowhere(
    register, hostile_vendor, tmp_path, servers
):
    seed_assets(register, [ECHO])
    server = serve(
        url_of(register),
        hostile_vendor,
        tmp_path,
        servers,
        IC3_ADMIN_TOKEN="",
        INNOMAINT_API_TOKEN=SLASH_TOKEN,
    )
    synced = server.http.post(f"{PREFIX}/sync/{ECHO}")
    assert synced.status_code == 200, synced.text
    stored = all_text(register)
    assert "MOD1/***" in stored  # the asset was stored, the token in it replaced
    assert SLASH_TOKEN not in stored
    detail = server.http.get(f"{PREFIX}/assets/{ECHO}")
    page = server.http.get(f"/assets/{ECHO}")
    assert detail.status_code == page.status_code == 200
    for text in (detail.text, json.dumps(detail.json()), page.text, server.log()):
        assert SLASH_TOKEN not in text
        assert SLASH_TOKEN.replace("/", "\\/") not in text


def test_an_answer_over_the_size_cap_fails_its_asset_and_stores_nothing_of_it(
    register, hostile_vendor, tmp_path, servers
):
    seed_assets(register, [HUGE, *asset_ids(1)])
    server = serve(
        url_of(register),
        hostile_vendor,
        tmp_path,
        servers,
        INNOMAINT_API_TOKEN=SLASH_TOKEN,
        INNOMAINT_MAX_RESPONSE_MB="1",
    )
    result = server.http.post(f"{PREFIX}/sync").json()
    assert (result["success"], result["failed"]) == (1, 1), result
    assert "answer too large" in result["errors"][0] and HUGE in result["errors"][0]
    with register.connect() as conn:
        barcode = conn.execute(
            sa.text("SELECT barcode FROM ic3_asset_master WHERE cmms_asset_id = :id"), {"id": HUGE}
        ).scalar()
    assert barcode is None


# -- 5. request bodies over 64 KB ---------------------------------------------------------------


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_request_bodies_over_64_kb_are_refused_before_parsing(register, start_server):
    server = start_server()
    big_form = {"customer_id": "x" * 200_000}
    for path in ("/runs", "/login", f"{PREFIX}/sync"):
        answer = server.http.post(path, data=big_form, headers={"Origin": server.url})
        assert answer.status_code == 413, (path, answer.status_code)

    def chunks() -> Iterator[bytes]:
        for _ in range(40):
            yield b"token=" + b"a" * 4096 + b"&"

    streamed = httpx.post(
        f"{server.url}/login",
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": server.url},
    )
    assert streamed.status_code == 413
    assert table_rows(register, "cmms_sync_run") == []
    # A normal form still goes through.
    assert login(httpx.Client(), server.url, ADMIN_TOKEN).status_code == 303


# -- 6. URLs without credentials ------------------------------------------------------------------


def test_credentials_in_the_vendor_url_are_printed_nowhere(register, tmp_path, servers):
    seed_assets(register, asset_ids(1))
    api_url = closed_port_url("ops:hunter2secret@")
    server = serve(
        url_of(register), api_url, tmp_path, servers, IC3_ADMIN_TOKEN="", INNOMAINT_MAX_RETRIES="0"
    )
    failed = server.http.post(f"{PREFIX}/sync/{asset_ids(1)[0]}")
    assert failed.status_code == 502
    run_id = failed.json()["run_id"]
    page = server.http.get(f"/runs/{run_id}")
    cli = run_cli("sync", env=base_env(url_of(register), "ftp://ops:hunter2secret@host/x"))
    assert cli.returncode == 1 and "ftp://host/x" in cli.stderr, cli.stderr
    for text in (failed.text, page.text, server.log(), cli.stderr, cli.stdout, all_text(register)):
        assert "hunter2secret" not in text


# -- 7. server-side sessions and the Secure cookie -------------------------------------------------


def test_a_logout_ends_the_session_on_the_server_and_a_saved_cookie_stops_working(
    register, start_server
):
    server = start_server()
    browser = httpx.Client(base_url=server.url)
    assert login(browser, server.url, ADMIN_TOKEN).status_code == 303
    assert browser.get("/", follow_redirects=False).status_code == 200
    saved = dict(browser.cookies)
    out = browser.post("/logout", headers={"Origin": server.url}, follow_redirects=False)
    assert out.status_code == 303
    replay = httpx.get(f"{server.url}/", cookies=saved, follow_redirects=False)
    assert replay.status_code == 303 and "/login" in replay.headers["location"]


def test_a_new_admin_token_ends_every_session(db_url, register, api_simulator, tmp_path, servers):
    first = serve(db_url, api_simulator, tmp_path, servers)
    browser = httpx.Client(base_url=first.url)
    assert login(browser, first.url, ADMIN_TOKEN).status_code == 303
    saved = dict(browser.cookies)
    first.stop()
    other = "another-admin-token-0123456789abcdef"
    second = serve(db_url, api_simulator, tmp_path, servers, IC3_ADMIN_TOKEN=other)
    replay = httpx.get(f"{second.url}/", cookies=saved, follow_redirects=False)
    assert replay.status_code == 303 and "/login" in replay.headers["location"]


def test_the_cookie_is_secure_on_https_and_x_forwarded_proto_counts_only_from_a_trusted_proxy(
    register, start_server
):
    trusting = start_server(IC3_TRUSTED_PROXIES="127.0.0.1")
    https_origin = trusting.url.replace("http://", "https://")
    behind = login(
        httpx.Client(),
        trusting.url,
        ADMIN_TOKEN,
        **{"X-Forwarded-Proto": "https", "Origin": https_origin},
    )
    assert behind.status_code == 303, behind.text
    assert "secure" in behind.headers["set-cookie"].lower()
    plain = login(httpx.Client(), trusting.url, ADMIN_TOKEN)
    assert "secure" not in plain.headers["set-cookie"].lower()

    untrusting = start_server()
    forged = login(httpx.Client(), untrusting.url, ADMIN_TOKEN, **{"X-Forwarded-Proto": "https"})
    assert forged.status_code == 303
    assert "secure" not in forged.headers["set-cookie"].lower()


# -- 8. wrong tokens are throttled; a short or plain token is refused off loopback -------------


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_failed_logins_are_throttled_with_a_growing_retry_after(register, start_server):
    server = start_server()
    http = httpx.Client()
    answers = [login(http, server.url, "wrong").status_code for _ in range(5)]
    assert answers == [401] * 5
    sixth = login(http, server.url, "wrong")
    assert sixth.status_code == 429 and int(sixth.headers["Retry-After"]) >= 1
    # While it waits, even the right token is not tried.
    assert login(http, server.url, ADMIN_TOKEN).status_code == 429
    time.sleep(int(sixth.headers["Retry-After"]) + 0.1)
    seventh = login(http, server.url, "wrong")
    assert seventh.status_code == 429
    assert int(seventh.headers["Retry-After"]) > int(sixth.headers["Retry-After"])


def bearer(token: str, client: str) -> dict[str, str]:
    """The headers of a call from `client`, as a trusted proxy names it."""
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": client}


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_wrong_bearer_tokens_on_the_admin_api_are_throttled_with_the_logins(register, start_server):
    server = start_server(IC3_TRUSTED_PROXIES="127.0.0.1")
    runs = f"{server.url}{PREFIX}/runs"
    guesser, other = "203.0.113.7", "198.51.100.2"
    # One kept-alive connection: the checks made while the guesser waits (2 s after its sixth
    # wrong token) follow each other in milliseconds, however busy the machine.
    with httpx.Client() as http:
        # The right token is never slowed, however often it comes.
        assert {
            http.get(runs, headers=bearer(ADMIN_TOKEN, guesser)).status_code for _ in range(20)
        } == {200}
        # It clears the count: four wrong tokens before it do not count after it.
        for _ in range(4):
            assert http.get(runs, headers=bearer("wrong", guesser)).status_code == 401
        assert http.get(runs, headers=bearer(ADMIN_TOKEN, guesser)).status_code == 200
        guesses = [http.get(runs, headers=bearer(f"guess-{n}", guesser)) for n in range(10)]
        # Every wrong token is a 401 (the contract's answer); from the sixth on it says how
        # long this address must wait.
        assert [g.status_code for g in guesses] == [401] * 10
        assert ["Retry-After" in g.headers for g in guesses] == [False] * 5 + [True] * 5
        first_wait = int(guesses[5].headers["Retry-After"])
        assert first_wait >= 1 and "too many wrong admin tokens" in guesses[5].json()["detail"]
        # While the guesser waits, no token of its is tried, the right one included; the same
        # address waits at the login form too, and another address is not slowed at all.
        waiting = http.get(runs, headers=bearer(ADMIN_TOKEN, guesser))
        assert waiting.status_code == 401 and int(waiting.headers["Retry-After"]) >= 1
        form = login(http, server.url, ADMIN_TOKEN, **{"X-Forwarded-For": guesser})
        assert form.status_code == 429
        assert http.get(runs, headers=bearer(ADMIN_TOKEN, other)).status_code == 200
    assert "admin API refused: wrong admin token from 203.0.113.7" in server.log()
    described = httpx.get(f"{server.url}/openapi.json").json()["paths"][f"{PREFIX}/runs"]
    assert "Retry-After" in described["get"]["responses"]["401"]["description"]
    assert "429" not in described["get"]["responses"]


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_long_admin_token_of_one_character_is_refused_on_a_non_loopback_bind(db_url):
    token = "a" * 24
    refused = run_cli(
        "serve", "--host", "0.0.0.0", "--port", "9", env=base_env(db_url, IC3_ADMIN_TOKEN=token)
    )
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "IC3_ADMIN_TOKEN" in lines[0], lines
    assert "different" in lines[0] and token not in lines[0], lines


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_short_admin_token_is_refused_on_a_non_loopback_bind(db_url):
    refused = run_cli(
        "serve", "--host", "0.0.0.0", "--port", "9", env=base_env(db_url, IC3_ADMIN_TOKEN="a")
    )
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "24" in lines[0] and "IC3_ADMIN_TOKEN" in lines[0], lines


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    "token", ["ñandú-token-of-more-than-24-chars", "tab\tin-a-token-of-24-chars-plus"]
)
def test_an_admin_token_no_header_can_carry_is_refused_even_on_loopback(db_url, token):
    # It used to start: the dashboard's login form took the token, the API's header never did.
    refused = run_cli("serve", "--port", "9", env=base_env(db_url, IC3_ADMIN_TOKEN=token))
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        "error: IC3_ADMIN_TOKEN holds characters an HTTP header cannot carry"
    ), refused.stderr
    assert token not in refused.stderr and "Traceback" not in refused.stderr


# -- 9. every answer carries its security headers -----------------------------------------------


# No database is involved in this check: SQLite alone.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_json_answers_are_not_sniffed_admin_data_is_not_stored_and_nothing_is_framed(
    register, start_server
):
    server = start_server()
    answers = {
        "admin data": server.http.get(f"{PREFIX}/runs"),
        "refused": httpx.get(f"{server.url}{PREFIX}/runs"),
        "not found": server.http.get(f"{PREFIX}/runs/999"),
        "health": httpx.get(f"{server.url}/healthz"),
        "login page": httpx.get(f"{server.url}/login"),
    }
    assert answers["admin data"].status_code == 200
    for what, answer in answers.items():
        headers = answer.headers
        assert headers.get("x-content-type-options") == "nosniff", what
        assert headers.get("x-frame-options") == "DENY", what
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what
    for what in ("admin data", "refused", "not found", "login page"):
        assert answers[what].headers.get("cache-control") == "no-store", what
    # A page keeps its own policy, which lets it load the service's script and stylesheet.
    assert "script-src 'self'" in answers["login page"].headers["content-security-policy"]
    assert answers["admin data"].headers["content-security-policy"].startswith("default-src 'none'")
    # The service's own stylesheet may be cached.
    style = httpx.get(f"{server.url}/static/dashboard.css")
    assert style.status_code == 200 and "no-store" not in style.headers.get("cache-control", "")


# -- 10. the open /healthz says little ------------------------------------------------------------


def test_healthz_answers_a_generic_status_and_logs_the_detail(db_url, tmp_path, start_server):
    if db_url.startswith("sqlite"):
        unreachable = f"sqlite:///{tmp_path}/no/such/dir/ic3sync.db"
        hint = "no/such/dir"
    else:
        unreachable = sa.make_url(db_url).set(port=1).render_as_string(hide_password=False)
        hint = "port 1"
    server = start_server(IC3_DATABASE_URL=unreachable)
    health = httpx.get(f"{server.url}/healthz")
    assert health.status_code == 503
    assert health.json() == {"detail": "database unreachable"}
    assert "127.0.0.1" not in health.text and hint not in health.text
    assert "/healthz: database unreachable:" in server.log()


# -- 11. a dead vendor ends the run ---------------------------------------------------------------


def test_a_dead_vendor_aborts_the_run_after_the_consecutive_failure_limit(register):
    ids = asset_ids(8)
    seed_assets(register, ids)
    api_url = closed_port_url("ops:hunter2secret@")
    env = base_env(
        url_of(register),
        api_url,
        INNOMAINT_MAX_CONSECUTIVE_FAILURES="3",
        INNOMAINT_MAX_RETRIES="1",
    )
    done = run_cli("sync", "--json", env=env)
    assert done.returncode == 1, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["status"], result["failed"], result["skipped"]) == ("aborted", 3, 5)
    run = table_rows(register, "cmms_sync_run")[0]
    assert run["status"] == "aborted"
    assert api_url.replace("ops:hunter2secret@", "") in run["error"]
    assert "INNOMAINT_API_URL" in run["error"] and "Connection refused" in run["error"]
    assert "hunter2secret" not in run["error"] + done.stderr
    statuses = [r["status"] for r in table_rows(register, "cmms_sync_log", "log_id")]
    assert statuses == ["failed"] * 3 + ["skipped"] * 5
