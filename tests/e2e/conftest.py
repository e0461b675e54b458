"""Fixtures of the admin service's end-to-end tests: one simulator process for the session, and
`ic3sync serve` processes on free ports over a migrated, seeded database of each backend."""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from tests.helpers import seed_assets
from tests.procs import (
    READY_TIMEOUT_S,
    base_env,
    free_port,
    ic3sync_cmd,
    simulator_process,
    stop,
)

ADMIN_TOKEN = "admin-token-5f1c9a7e-0b2d-4e8a-9c3f"
BROKEN = "Site Z_BROKEN_01"  # the simulator answers 404 for it
FAULTS = {BROKEN: "not_found"}
PREFIX = "/api/admin/cmms"


def asset_ids(n: int) -> list[str]:
    return [f"Plant {i:02d}_PUMP_{i:02d}" for i in range(1, n + 1)]


class ServerProcess:
    """A running `ic3sync serve`, its log file, and an HTTP client that sends the admin token."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path, token: str | None):
        self.proc = proc
        self.url = url
        self.log_path = log_path
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=url, headers=headers, timeout=30)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self, sig: int | None = None) -> int:
        self.http.close()
        return stop(self.proc, sig) if sig is not None else stop(self.proc)

    def wait_for_run(
        self, run_id: int, until: Callable[[dict[str, Any]], bool], timeout: float = 30
    ) -> dict[str, Any]:
        """Poll GET /runs/{run_id} until `until(run)` holds; the last view seen."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.http.get(f"{PREFIX}/runs/{run_id}").json()
            if until(run):
                return run
            if time.monotonic() > deadline:
                raise AssertionError(f"run {run_id} never got there; last seen: {run}")
            time.sleep(0.05)


def wait_ready(server: ServerProcess, timeout: float = READY_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"serve exited with {server.proc.returncode}:\n{server.log()}")
        try:
            httpx.get(f"{server.url}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"serve did not answer within {timeout} s:\n{server.log()}")


@pytest.fixture(scope="session")
def api_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The simulator process shared by the service's tests; yields INNOMAINT_API_URL."""
    with simulator_process(tmp_path_factory.mktemp("api-sim"), faults=FAULTS) as url:
        yield url


@pytest.fixture
def register(migrated_db_url: str) -> Iterator[sa.Engine]:
    """The test's database, migrated; seed it with `seed_assets(register, ids)`."""
    engine = make_engine(migrated_db_url)
    try:
        yield engine
    finally:
        engine.dispose()


def launch_server(
    db_url: str, api_url: str, log_dir: Path, *, host: str = "127.0.0.1", **env: str | None
) -> ServerProcess:
    """Start `ic3sync serve` on a free port, with the admin token unless IC3_ADMIN_TOKEN=""
    is passed; a None value removes that variable from the environment."""
    port = free_port()
    env.setdefault("IC3_ADMIN_TOKEN", ADMIN_TOKEN)
    full_env = base_env(db_url, api_url)
    for name, value in env.items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    log_path = log_dir / f"serve-{port}.log"
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            ic3sync_cmd("serve", "--host", host, "--port", str(port)),
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return ServerProcess(proc, f"http://127.0.0.1:{port}", log_path, env["IC3_ADMIN_TOKEN"])


@contextlib.contextmanager
def serving(db_url: str, api_url: str, log_dir: Path, **env: str | None) -> Iterator[ServerProcess]:
    """`ic3sync serve` (as launch_server starts it), answering, for the block; stopped after."""
    server = launch_server(db_url, api_url, log_dir, **env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_server(
    db_url: str, api_simulator: str, tmp_path: Path
) -> Iterator[Callable[..., ServerProcess]]:
    """`start_server(**env)` starts `ic3sync serve` on the test's database and the simulator
    and waits until it answers; every one is stopped at teardown."""
    started: list[ServerProcess] = []

    def start(**env: str | None) -> ServerProcess:
        server = launch_server(db_url, api_simulator, tmp_path, **env)
        started.append(server)
        wait_ready(server)
        return server

    yield start
    for server in started:
        server.stop()


__all__ = ["ADMIN_TOKEN", "BROKEN", "PREFIX", "ServerProcess", "asset_ids", "seed_assets"]
