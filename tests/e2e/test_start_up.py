"""What a command loads before it does its work. Every `ic3sync` process pays for its imports
(on this project's test machine a second or more for the database layer), so `--help` and the
simulator load neither the database layer nor the sync, and a sync or the service on SQLite
loads neither Alembic (only `migrate` needs it) nor openpyxl (only a file export needs it), and
a command line sync no metrics (only the service serves them).

Each command runs as a real process whose modules are written down as it exits."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

from ic3sync.db.engine import make_engine
from tests.e2e.conftest import asset_ids, seed_assets
from tests.procs import base_env, free_port, stop, wait_http

# `python -m ic3sync ARGS`, which writes the names of the modules it holds to a file at exit
# and every 0.1 s while it runs (uvicorn ends by raising SIGTERM again, which skips atexit).
_RUN_AND_LIST = """
import atexit, runpy, sys, threading, time
listing = sys.argv.pop(1)
lock = threading.Lock()
def write():
    with lock:  # the thread and atexit never write the one file at once
        with open(listing + ".part", "w") as f:
            f.write("\\n".join(sorted(sys.modules)))
        __import__("os").replace(listing + ".part", listing)
def keep_writing():
    while True:
        time.sleep(0.1)
        write()
threading.Thread(target=keep_writing, daemon=True).start()
atexit.register(write)
sys.argv[0] = "ic3sync"
runpy.run_module("ic3sync", run_name="__main__", alter_sys=True)
"""

DATABASE_LAYER = {"sqlalchemy", "psycopg", "alembic", "ic3sync.db.schema", "ic3sync.sync"}
NOT_FOR_A_RUN = {"alembic", "mako", "openpyxl", "fastapi", "prometheus_client"}
NOT_FOR_THE_SERVICE = {"alembic", "mako", "openpyxl"}


def _command(listing: Path, *args: str) -> list[str]:
    return [sys.executable, "-c", _RUN_AND_LIST, str(listing), *args]


def _loaded(listing: Path) -> set[str]:
    return set(listing.read_text().split())


def _wait_for_a_listing_after(listing: Path, moment: float, timeout: float = 60.0) -> None:
    """Wait until the listing was written after `moment` (the process writes it every 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listing.exists() and listing.stat().st_mtime > moment:
            return
        time.sleep(0.05)
    raise AssertionError(f"no listing written after the page within {timeout} s")


def _run(tmp_path: Path, env: Mapping[str, str], *args: str) -> set[str]:
    listing = tmp_path / "modules.txt"
    proc = subprocess.run(
        _command(listing, *args), env=dict(env), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return _loaded(listing)


def test_help_and_version_load_no_database_layer(tmp_path):
    env = base_env("sqlite://")
    for args in (["--help"], ["--version"], ["sync", "--help"]):
        loaded = _run(tmp_path, env, *args)
        assert "typer" in loaded
        assert DATABASE_LAYER.isdisjoint(loaded), (args, DATABASE_LAYER & loaded)
        assert {"httpx", "openpyxl"}.isdisjoint(loaded), args


@contextlib.contextmanager
def _serving(
    listing: Path, env: Mapping[str, str], *args: str, ready: str
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`ic3sync ARGS --port P` running until it answers at `ready`, then stopped with SIGTERM
    when the block ends; yields the process and its root URL."""
    port = free_port()
    proc = subprocess.Popen(
        _command(listing, *args, "--port", str(port)),
        env=dict(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        wait_http(root + ready, proc=proc)
        yield proc, root
    finally:
        stop(proc, signal.SIGTERM)


def test_the_simulator_loads_no_database_layer(tmp_path):
    listing = tmp_path / "modules.txt"
    with _serving(listing, base_env("sqlite://"), "simulator", ready="/__stats") as (proc, _):
        pass
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    loaded = _loaded(listing)
    assert "ic3sync.innomaint.simulator" in loaded
    assert DATABASE_LAYER.isdisjoint(loaded), DATABASE_LAYER & loaded


@pytest.fixture
def sqlite_register(tmp_path, migrated_templates) -> str:
    """A migrated SQLite database of the test's own with three assets; its URL."""
    url = migrated_templates.sqlite_copy(tmp_path / "ic3sync.db")
    engine = make_engine(url)
    try:
        seed_assets(engine, asset_ids(3))
    finally:
        engine.dispose()
    return url


def test_a_sync_on_sqlite_loads_neither_alembic_nor_openpyxl(
    tmp_path, sqlite_register, api_simulator
):
    loaded = _run(tmp_path, base_env(sqlite_register, api_simulator), "sync")
    assert {"ic3sync.sync", "sqlalchemy"} <= loaded
    assert NOT_FOR_A_RUN.isdisjoint(loaded), NOT_FOR_A_RUN & loaded


def test_the_service_on_sqlite_loads_neither_alembic_nor_openpyxl(
    tmp_path, sqlite_register, api_simulator
):
    listing = tmp_path / "modules.txt"
    env = base_env(sqlite_register, api_simulator)
    # uvicorn ends by raising SIGTERM again, which skips atexit: the listing read is the one
    # written while it served.
    with _serving(listing, env, "serve", ready="/healthz") as (_, root):
        # A page of the dashboard, so the service has done more than start.
        assert httpx.get(f"{root}/login", timeout=10).status_code in (200, 303)
        _wait_for_a_listing_after(listing, time.time())
    loaded = _loaded(listing)
    assert {"fastapi", "ic3sync.api.app", "sqlalchemy"} <= loaded
    assert NOT_FOR_THE_SERVICE.isdisjoint(loaded), NOT_FOR_THE_SERVICE & loaded
