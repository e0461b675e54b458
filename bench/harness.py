"""What the benchmark stands on: throw-away databases, the simulator as a process, registers of
N assets, and the machine's description. ic3sync is reached only through its command line, as
an operator reaches it. Nothing here measures; bench/run.py does."""

from __future__ import annotations

import contextlib
import csv
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
IC3SYNC = str(BIN / "ic3sync")
PG_ADMIN_URL = os.environ.get(
    "IC3_BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TOKEN = secrets.token_urlsafe(24)
# Every ic3sync process runs here, where no stray .env of the repository's is read.
WORKDIR = tempfile.gettempdir()
HEADERS = ("S.No", "Asset ID", "Asset Name", "Customer ID", "Customer Name", "Location Name")


def asset_id(i: int) -> str:
    # Spaces, as in the customer's ids, so the HTTP route's URL encoding is exercised too.
    return f"Bench Site {i // 50:04d}_PUMP_{i:06d}"


def register_rows(n: int) -> Iterator[tuple[Any, ...]]:
    for i in range(1, n + 1):
        yield (i, asset_id(i), f"Pump {i}", 24463 + i % 5, "DJB Bench", f"Zone {i % 40}")


def write_csv(path: Path, n: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADERS)
        writer.writerows(register_rows(n))
    return path


def write_xlsx(path: Path, n: int) -> Path:
    # Normal mode, as Excel and most tools write it (with a recorded dimension).
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in register_rows(n):
        sheet.append(row)
    workbook.save(path)
    return path


@contextlib.contextmanager
def pg_database(prefix: str = "ic3bench") -> Iterator[str]:
    """A new, uniquely named PostgreSQL database, migrated; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        migrate(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ic3sync(*args: str, env: dict[str, str]) -> str:
    """`ic3sync ARGS` as an operator runs it; its standard output, or RuntimeError naming the
    command and the end of what it said on stderr."""
    proc = subprocess.run(
        [IC3SYNC, *args], env=env, cwd=WORKDIR, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ic3sync {args[0]} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def migrate(url: str) -> None:
    ic3sync("migrate", env=database_env(url))


def database_env(db_url: str) -> dict[str, str]:
    """This environment without any IC3_ or INNOMAINT_ setting of the caller's, on `db_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IC3_", "INNOMAINT_"))}
    env["IC3_DATABASE_URL"] = db_url
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimulatorProcess:
    """`ic3sync simulator` in its own process, so its work never competes with the sync's GIL."""

    def __init__(self, latency_ms: float = 0.0) -> None:
        self.latency_ms = latency_ms
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.base_url = ""

    def __enter__(self) -> SimulatorProcess:
        cmd = [IC3SYNC, "simulator", "--port", "0", "--token", TOKEN]
        cmd += ["--latency-ms", str(self.latency_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            self.__exit__(None, None, None)
            raise RuntimeError(f"the simulator did not start: {line!r}")
        self.url = match.group(1)
        self.base_url = self.url.split("/api/", 1)[0]
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def stats(self) -> dict[str, Any]:
        stats = httpx.get(self.base_url + "/__stats", timeout=10).json()
        stats.pop("per_id", None)
        return dict(stats)

    def reset(self) -> None:
        httpx.post(self.base_url + "/__reset", content=b"{}", timeout=10).raise_for_status()


def run_env(db_url: str, sim: SimulatorProcess, rate_ms: int) -> dict[str, str]:
    env = database_env(db_url)
    env.update(
        INNOMAINT_API_URL=sim.url,
        INNOMAINT_API_TOKEN=TOKEN,
        INNOMAINT_RATE_MS=str(rate_ms),
    )
    return env


def wait_for(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout_s:g} s")
        time.sleep(0.1)


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    engine = sa.create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            pg = conn.execute(sa.text("SHOW server_version")).scalar()
            commit = conn.execute(sa.text("SHOW synchronous_commit")).scalar()
    finally:
        engine.dispose()
    mem = 0
    with contextlib.suppress(OSError, ValueError):
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": mem,
        "python": platform.python_version(),
        "postgresql": pg,
        "pg_synchronous_commit": commit,
        "sqlalchemy": sa.__version__,
        "os": platform.platform(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "disk_free_gb": shutil.disk_usage(ROOT).free // 2**30,
    }
