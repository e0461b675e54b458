"""The admin service under abuse: missing and wrong tokens, malformed and oversized parameters,
path tricks and odd characters in asset ids, and a burst of triggers. Every answer must be the
right 4xx (never a 5xx; a wrong token a 401, with Retry-After once wrong tokens have been
throttled), and a burst must start exactly one run."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from tests.e2e.conftest import ADMIN_TOKEN, PREFIX, ServerProcess, serving
from tests.faults.checks import leaks, tracebacks
from tests.faults.conftest import BACKENDS
from tests.helpers import TOKEN, seed_assets
from tests.procs import release_held, simulator_process

IDS = [f"Abuse site_{n:03d}" for n in range(40)]
ROUTES = [
    ("GET", f"{PREFIX}/runs"),
    ("GET", f"{PREFIX}/runs/1"),
    ("POST", f"{PREFIX}/sync"),
    ("POST", f"{PREFIX}/sync/{IDS[0]}"),
    ("POST", f"{PREFIX}/runs/1/cancel"),
    ("GET", f"{PREFIX}/assets/{IDS[0]}"),
]
BAD_AUTH = [
    None,
    "",
    "Bearer",
    "Bearer ",
    f"Bearer {ADMIN_TOKEN[:-1]}",
    f"Bearer {ADMIN_TOKEN}x",
    f"bearer{ADMIN_TOKEN}",
    f"Basic {ADMIN_TOKEN}",
    f"Bearer {ADMIN_TOKEN.upper()}",
    f"Bearer {TOKEN}",  # the Innomaint token is not the admin token
    "Bearer " + "A" * 8000,
    f"Bearer {ADMIN_TOKEN}\t",
]
BAD_PARAMS = [
    "batch=-1",
    "batch=0",
    "batch=abc",
    "batch=1e3",
    "batch=" + "9" * 400,
    "offset=-5",
    "offset=" + "9" * 40,
    "customer_id=-1",
    "customer_id=99999999999999999999999",
    "customer_id=%00",
    "only_failed=maybe",
    "wait=2",
    "batch=" + "1" * 20000,
]
ODD_IDS = [
    "../../../../etc/passwd",
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/",
    "a%00b",
    "%0d%0aSet-Cookie:%20x=1",
    "%F0%9F%98%80%20pump",
    "'%20OR%201=1%20--",
    "%25%25%25",
    "%FF%FE",
    "x" * 7000,
    "%20%20",
    "C:%5Cwindows%5Csystem32",
]


@pytest.fixture
def vendor(tmp_path: Path) -> Iterator[str]:
    """The simulator, holding the first asset of any run a test could start (a full run's or
    one of IDS[:4]) until the test releases it: a run is still going when the last request of
    a burst arrives, however slow the machine."""
    with simulator_process(tmp_path, latency_ms=30, faults=dict.fromkeys(IDS[:4], "held")) as api:
        yield api


@pytest.fixture
def server(migrated_db_url: str, tmp_path: Path, vendor: str) -> Iterator[ServerProcess]:
    db_url = migrated_db_url
    engine = make_engine(db_url)
    seed_assets(engine, IDS)
    engine.dispose()
    with serving(db_url, vendor, tmp_path) as srv:
        yield srv


def _send(srv: ServerProcess, method: str, path: str, auth: str | None) -> httpx.Response:
    headers = {} if auth is None else {"Authorization": auth}
    with httpx.Client(base_url=srv.url, timeout=30) as plain:
        return plain.request(method, path, headers=headers)


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_abuse_of_the_admin_api_gets_the_right_4xx_and_never_a_5xx(server, db_url, ledger):
    answers: Counter[str] = Counter()
    bodies: list[str] = []
    for query in BAD_PARAMS:
        r = server.http.post(f"{PREFIX}/sync?{query}")
        answers[f"params {r.status_code}"] += 1
        bodies.append(r.text)
        assert 400 <= r.status_code < 500 and r.status_code != 409, (query[:50], r.text[:200])
    for raw in ODD_IDS:
        for method, template in (("POST", "/sync/{}"), ("GET", "/assets/{}")):
            r = server.http.request(method, PREFIX + template.format(raw))
            answers[f"ids {r.status_code}"] += 1
            bodies.append(r.text)
            assert r.status_code in (400, 404, 414, 422), (method, raw[:40], r.text[:200])
    # Last: after a few wrong tokens this address waits (401 with Retry-After).
    for method, path in ROUTES:
        for auth in BAD_AUTH:
            try:
                r = _send(server, method, path, auth)
            except httpx.LocalProtocolError:
                continue  # a header httpx refuses to send is one no client can send either
            waits = "Retry-After" in r.headers
            answers[f"auth {r.status_code}{' waiting' if waits else ''}"] += 1
            bodies.append(r.text)
            assert r.status_code in (400, 401, 431), (method, path, auth and auth[:40], r.text)
    assert answers["auth 401 waiting"] > 0, answers  # the wrong tokens met the throttle
    log = server.log()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT COUNT(*) FROM cmms_sync_run")).scalar_one()
        masters = conn.execute(
            sa.text("SELECT COUNT(*) FROM ic3_asset_master WHERE sync_version > 0")
        ).scalar_one()
    found = leaks(engine, [*bodies, log])
    engine.dispose()
    assert (runs, masters) == (0, 0)  # no abusive request started anything
    assert found == [] and tracebacks([log]) == []
    assert not any(k.endswith(tuple(f" {c}" for c in range(500, 600))) for k in answers)
    ledger.record(
        "admin API abuse",
        injected={"bad token": sum(v for k, v in answers.items() if k.startswith("auth"))}
        | {"bad parameter": len(BAD_PARAMS), "odd asset id": 2 * len(ODD_IDS)},
        logged=sum(answers.values()),
        leaks=len(found),
    )


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_burst_of_triggers_starts_exactly_one_run(server, vendor, db_url, ledger):
    codes: list[int] = []
    lock = threading.Lock()
    go = threading.Event()

    def trigger(path: str) -> None:
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=60
        ) as http:
            go.wait()
            code = http.post(path).status_code
        with lock:
            codes.append(code)

    paths = [f"{PREFIX}/sync?wait=false"] * 12 + [f"{PREFIX}/sync"] * 4
    paths += [f"{PREFIX}/sync/{IDS[n]}" for n in range(4)]
    threads = [threading.Thread(target=trigger, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    go.set()
    # Every request but the one that started the run is answered while its first asset is
    # held; that one may be waiting for its run, which ends once the vendor answers.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            if len(codes) >= len(paths) - 1:
                break
        time.sleep(0.02)
    release_held(vendor)
    for t in threads:
        t.join()
    engine = make_engine(db_url)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT COUNT(*) FROM cmms_sync_run")).scalar_one()
    engine.dispose()
    tally = Counter(codes)
    started = tally[200] + tally[202]
    assert set(tally) <= {200, 202, 409}, tally
    assert started == 1 and runs == 1, (tally, runs)
    assert tracebacks([server.log()]) == []
    ledger.record(
        "admin API abuse",
        injected={"concurrent triggers": len(paths)},
        logged=tally[409],
    )
