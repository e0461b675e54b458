"""Start the real `ic3sync` processes (simulator, server, CLI) for end-to-end tests."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from tests.helpers import TOKEN

ENDPOINT_PATH = "/api/public/api/restapicontroller/assetmanagement/getAssetIDDetailByAssetID"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ic3sync_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ic3sync", *args]


def base_env(db_url: str, api_url: str | None = None, **extra: str) -> dict[str, str]:
    """A clean environment: nothing of the developer's shell or .env leaks into a test."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IC3_", "INNOMAINT_"))}
    env.update(
        IC3_DATABASE_URL=db_url,
        INNOMAINT_API_TOKEN=TOKEN,
        INNOMAINT_RATE_MS="0",
        INNOMAINT_TIMEOUT_S="5",
        PYTHONUNBUFFERED="1",
    )
    if api_url:
        env["INNOMAINT_API_URL"] = api_url
    env.update(extra)
    return env


def run_cli(
    *args: str, env: Mapping[str, str], cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ic3sync_cmd(*args),
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def start_cli(*args: str, env: Mapping[str, str]) -> subprocess.Popen[str]:
    """`ic3sync ARGS` in the background, its output captured as text."""
    return subprocess.Popen(
        ic3sync_cmd(*args),
        env=dict(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def wait_until_writing(proc: subprocess.Popen, db_url: str, timeout: float = 60.0) -> None:
    """Wait until a transaction of another process is writing to the database: SQLite's write
    lock is taken, or PostgreSQL shows another session's open transaction on the database."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the process ended ({proc.returncode}) before writing")
            if _someone_writes(engine):
                return
            time.sleep(0.02)
    finally:
        engine.dispose()
    raise AssertionError(f"no transaction began writing within {timeout} s")


def _someone_writes(engine: Any) -> bool:
    import sqlalchemy as sa

    if engine.dialect.name == "sqlite":
        import sqlite3

        probe = sqlite3.connect(engine.url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError as exc:
            return "locked" in str(exc)
        finally:
            probe.close()
    with engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                )
            ).scalar()
        )


# How long a process may take to answer its first request. It answers within a second or two on
# a quiet machine; the wait ends as soon as it does, so only a loaded machine meets the bound.
READY_TIMEOUT_S = 90.0


def wait_http(
    url: str, timeout: float = READY_TIMEOUT_S, proc: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out, errs = proc.communicate()
            raise RuntimeError(f"process exited with {proc.returncode}: {errs or out}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout} s")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@contextlib.contextmanager
def simulator_process(
    tmp_path: Path,
    *,
    faults: Mapping[str, object] | None = None,
    latency_ms: float = 0,
    fault_rate: float = 0,
    seed: int = 0,
    token: str = TOKEN,
    drift: int = 0,
) -> Iterator[str]:
    """`ic3sync simulator` on a free port; yields the endpoint URL for INNOMAINT_API_URL."""
    port = free_port()
    args = ["simulator", "--port", str(port), "--token", token, "--latency-ms", str(latency_ms)]
    if faults:
        path = tmp_path / f"faults-{port}.json"
        path.write_text(json.dumps(faults))
        args += ["--faults", str(path)]
    if fault_rate or drift:
        args += ["--fault-rate", str(fault_rate), "--seed", str(seed), "--drift", str(drift)]
    log = (tmp_path / f"simulator-{port}.log").open("w")
    proc = subprocess.Popen(
        ic3sync_cmd(*args),
        env=base_env("sqlite://"),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{root}/__stats", proc=proc)
        yield root + ENDPOINT_PATH
    finally:
        stop(proc)
        log.close()


def reset_simulator(api_url: str) -> None:
    """Clear the stats of the simulator process at `api_url`, and with them how often each
    transient fault was served: the next test meets every fault as a fresh process would."""
    root = api_url.split("/api/", 1)[0]
    httpx.post(f"{root}/__reset", content=b"", timeout=10).raise_for_status()


def release_held(api_url: str) -> None:
    """Answer the `held` assets of the simulator process at `api_url` from now on."""
    root = api_url.split("/api/", 1)[0]
    httpx.post(f"{root}/__release", content=b"", timeout=10).raise_for_status()
