"""Secret hygiene under faults: the Innomaint token must not show in any log line (with httpx and
httpcore at DEBUG), exception text, result, table or process output, even when the vendor echoes
it back in every answer; URLs with credentials show up redacted."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from ic3sync.db.engine import make_engine, redact_url
from ic3sync.errors import Ic3SyncError
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.model import AssetOutcome
from ic3sync.sync import run_sync
from tests.faults.checks import leaks, tracebacks
from tests.faults.conftest import BACKENDS
from tests.helpers import TOKEN, OnOutcome, client_for, seed_assets
from tests.procs import base_env, run_cli, simulator_process

# Each id gets an answer that carries the token back: in a message, a body, a header, a value.
# (status, content type, body, extra headers), from the Authorization header received.
Answer = tuple[int, str, bytes, dict[str, str]]
JSON = "application/json"


def _valid_with_token(sid: str, auth: str) -> Answer:
    payload = asset_payload(sid)
    payload["response"]["data"]["in_charge_person"] = auth
    payload["response"]["performance"]["equipments_name"] = TOKEN
    return 200, JSON, json.dumps(payload).encode(), {}


ECHOES: dict[str, Callable[[str, str], Answer]] = {
    "Echo_400": lambda s, a: (400, JSON, json.dumps({"status": False, "message": a}).encode(), {}),
    "Echo_404_text": lambda s, a: (404, "text/plain", f"you sent {a}".encode(), {}),
    "Echo_HTML": lambda s, a: (200, "text/html", f"<html>{a}</html>".encode(), {}),
    "Echo_false": lambda s, a: (
        200,
        JSON,
        json.dumps({"status": False, "message": a}).encode(),
        {},
    ),
    "Echo_503": lambda s, a: (503, JSON, json.dumps({"message": a}).encode(), {"X-Echo": a}),
    "Echo_value": _valid_with_token,
    "Echo_401": lambda s, a: (401, JSON, json.dumps({"status": False, "message": a}).encode(), {}),
}


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        sid = json.loads(body)["serialnumber"]
        status, content_type, content, headers = ECHOES[sid](sid, self.headers["Authorization"])
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(content)


@pytest.fixture
def echo_vendor() -> Iterator[str]:
    """A real HTTP server (so httpcore logs its DEBUG lines, on the httpx wire) that echoes the
    token back."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything logged, httpx and httpcore at DEBUG included, into one buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    saved = root.level, {n: logging.getLogger(n).level for n in ("httpx", "httpcore")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        for name, level in saved[1].items():
            logging.getLogger(name).setLevel(level)


# The client as production builds it, and on a transport given to it: httpx either way, whose
# loggers it filters.
@pytest.mark.parametrize("transport", ["built", "given"])
def test_a_vendor_echoing_the_token_leaks_it_nowhere(
    engine, echo_vendor, debug_log, ledger, transport
):
    seed_assets(engine, list(ECHOES))
    outcomes: list[AssetOutcome] = []
    texts: list[str] = []
    given = httpx.HTTPTransport() if transport == "given" else None
    with client_for(echo_vendor, max_retries=1, transport=given) as client:
        result = run_sync(engine, client, trigger="cli", observer=OnOutcome(outcomes.append))
        texts.append(repr(client))
        for sid in ECHOES:
            try:
                client.fetch(sid)
            except Ic3SyncError as exc:
                texts.extend([str(exc), repr(exc), repr(exc.args)])
    texts += [debug_log.getvalue(), json.dumps(result.as_dict()), repr(result), repr(outcomes)]

    logged = debug_log.getvalue()
    assert "httpcore" in logged and "ic3sync.sync INFO" in logged  # DEBUG really was on
    assert result.status == "aborted"  # the 401 ends the run, after the others
    found = leaks(engine, texts)
    assert found == [], [line for t in texts for line in t.splitlines() if TOKEN in line][:5]
    ledger.record(
        "secrets",
        injected={"token echoed by the vendor": len(ECHOES)},
        logged=len(ECHOES),
        leaks=len(found),
    )


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_processes_never_print_the_token_and_database_urls_are_redacted(db_url, tmp_path, ledger):
    faults = {"Sec_401": "unauthorized", "Sec_404": "not_found", "Sec_HTML": "non_json"}
    env = base_env(db_url)
    outputs: list[str] = []
    with simulator_process(tmp_path, faults=faults) as api:
        env["INNOMAINT_API_URL"] = api
        migrate = run_cli("migrate", env=env)
        outputs += [migrate.stdout, migrate.stderr]
        engine = make_engine(db_url)
        seed_assets(engine, ["Sec_OK", "Sec_404", "Sec_HTML", "Sec_401"])
        engine.dispose()
        sync = run_cli("sync", "--json", env=env)
        one = run_cli("sync-one", "Sec_404", "--json", env=env)
        wrong = run_cli("sync", env={**env, "INNOMAINT_API_TOKEN": TOKEN[::-1]})
        outputs += [sync.stdout, sync.stderr, one.stdout, one.stderr, wrong.stdout, wrong.stderr]
    # A database URL with a password, unreachable: the message names it without the password.
    secret_url = "postgresql+psycopg://ic3:" + TOKEN + "@127.0.0.1:1/ic3"
    down = run_cli("sync", env={**env, "IC3_DATABASE_URL": secret_url})
    outputs += [down.stdout, down.stderr]

    assert sync.returncode == 1 and "token" in sync.stderr.lower()  # the 401 aborts it
    assert wrong.returncode == 1 and down.returncode == 1
    # The message names the database it could not reach, without the password; the terminal
    # may wrap it, never inside the URL.
    said = " ".join(down.stderr.split())
    assert f"cannot reach the database {redact_url(secret_url)}" in said, down.stderr
    assert "ic3:***@127.0.0.1:1/ic3" in said
    engine = make_engine(db_url)
    found = leaks(engine, outputs)
    engine.dispose()
    assert found == [] and tracebacks(outputs) == []
    ledger.record(
        "secrets",
        injected={"CLI runs with faults, bad token, secret DB URL": 5},
        logged=5,
        leaks=len(found),
        tracebacks=len(tracebacks(outputs)),
    )
