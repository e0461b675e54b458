"""`make bench`: ic3sync measured at the pace the customer runs it, against loops of its own
(bench/bare_loop.py, the least any sequential client must do per asset; bench/seed_loop.py, the
customer's sketch ported leanly), on the real simulator and real PostgreSQL and SQLite.
ic3sync is reached only through its public entry points: `ic3sync sync --json`,
`ic3sync serve` with its HTTP API and dashboard, and `ic3sync import-assets`.

- pace: R = 200 ms, L = 50 ms, N = 300. Each round starts at once, each against a simulator of
  its own and a copy of its own of the database: on PostgreSQL and on SQLite the bare loop,
  `ic3sync sync`, a run of `ic3sync serve` (POST /api/admin/cmms/sync while 20 operators poll
  the runs and the run's page) and the seed loop; and, through a proxy that puts PostgreSQL
  2 ms away, the bare loop and `ic3sync sync`. Each figure is the median of its rounds' ratios.
- cpu: R = L = 0, the user + system CPU of the whole process over N, ic3sync against the bare
  loop, on each database, in alternating rounds.
- scale: `ic3sync import-assets` of an .xlsx register of 5,000 and of 50,000 rows, then
  `ic3sync sync`'s peak RSS (VmHWM) on each.

Prints a table, writes bench/results.json, and exits 1 naming every target missed.

    python bench/run.py [--quick] [--only pace,cpu,scale] [--rounds N] [--reference DIR]

--reference DIR also runs DIR's bare_floor.py and seed_port.py beside the loops of bench/ in
the pace rounds on PostgreSQL, and reports loop / reference.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import (
    IC3SYNC,
    PG_ADMIN_URL,
    ROOT,
    TOKEN,
    WORKDIR,
    SimulatorProcess,
    asset_id,
    database_env,
    free_port,
    ic3sync,
    machine,
    migrate,
    run_env,
    wait_for,
    write_csv,
    write_xlsx,
)
from tests.netproxy import TcpProxy

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results.json"
PACE_RATE_MS = 200
PACE_LATENCY_MS = 50
# Each way: a round trip to PostgreSQL costs 2 ms, a database server on another host.
REMOTE_DELAY_S = 0.001
POLLERS = 20
# The dashboard's page of a running run refreshes itself once a second.
POLL_PERIOD_S = 1.0
ADMIN_TOKEN = "bench-admin-" + uuid.uuid4().hex
# How long the loops wait after the start of the round's ic3sync processes: their imports.
LOADING_S = 3.0


@dataclass
class Sizes:
    rounds: int = 3
    pace_n: int = 300
    cpu_n: int = 2_000
    scale: tuple[int, int] = (5_000, 50_000)


QUICK = Sizes(rounds=2, pace_n=30, cpu_n=300, scale=(1_000, 5_000))

BACKENDS = ("postgresql", "sqlite")
LABEL = {"postgresql": "PostgreSQL", "sqlite": "SQLite", "remote": "PostgreSQL 2 ms away"}
# CPU per asset at R = L = 0, ic3sync over the bare loop: a guard against regressions, set for
# httpx and SQLAlchemy Core with room for the spread between machines (docs/performance.md).
CPU_BUDGET = {"postgresql": 10.0, "sqlite": 12.0}


@dataclass
class Targets:
    missed: list[str] = field(default_factory=list)
    checked: list[dict[str, Any]] = field(default_factory=list)

    def check(self, name: str, value: float, op: str, limit: float, unit: str = "") -> None:
        ok = value <= limit if op == "<=" else value >= limit
        self.checked.append(
            {"target": name, "value": round(value, 4), "op": op, "limit": limit, "met": ok}
        )
        if not ok:
            self.missed.append(f"{name}: {value:.4g}{unit} (target {op} {limit:g}{unit})")


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- processes ------------------------------------------------------------------------------


@dataclass
class Ran:
    """What a finished process printed last (its JSON line) and what it used."""

    result: dict[str, Any]
    wall_s: float
    cpu_s: float  # user + system, of the process alone (wait4)
    peak_rss_mb: float = 0.0  # VmHWM, when watched


def measured(cmd: list[str], env: dict[str, str] | None = None, *, rss: bool = False) -> Ran:
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=WORKDIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out: list[bytes] = []
    err: list[bytes] = []
    threads = [
        threading.Thread(target=lambda: out.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
        threading.Thread(target=lambda: err.append(proc.stderr.read()), daemon=True),  # type: ignore[union-attr]
    ]
    # ru_maxrss would count the pages the child shared with this process before exec; VmHWM is
    # reset at exec, so polling it measures the command alone.
    hwm_kb = [0]
    done = threading.Event()

    def watch() -> None:
        status = Path(f"/proc/{proc.pid}/status")
        while not done.wait(0.05):
            with contextlib.suppress(OSError, ValueError):
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        hwm_kb[0] = max(hwm_kb[0], int(line.split()[1]))

    if rss:
        threads.append(threading.Thread(target=watch, daemon=True))
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    wall = time.perf_counter() - started
    for t in threads:
        t.join()
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        raise RuntimeError(
            f"{Path(cmd[1] if cmd[0] == sys.executable else cmd[0]).name} "
            f"{cmd[1:3]} exited {code}: {b''.join(err)[-2000:].decode()}"
        )
    lines = b"".join(out).decode().strip().splitlines()
    return Ran(
        result=dict(json.loads(lines[-1])) if lines and lines[-1].startswith("{") else {},
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=hwm_kb[0] / 1024,
    )


def sync_cli(db_url: str, sim: SimulatorProcess, rate_ms: int, *, rss: bool = False) -> Ran:
    ran = measured([IC3SYNC, "sync", "--json"], run_env(db_url, sim, rate_ms), rss=rss)
    _succeeded("ic3sync sync", ran.result)
    return ran


def _succeeded(who: str, result: dict[str, Any]) -> None:
    if result.get("status") != "completed" or result.get("failed"):
        raise RuntimeError(f"{who}: the run did not succeed: {result}")


def bare_loop(db_url: str, sim: SimulatorProcess, rate_ms: int, ids: Path, script: Path) -> Ran:
    flags = ["--url", sim.url, f"--token={TOKEN}", "--register", str(ids)]
    return measured(
        [sys.executable, str(script), *flags, "--rate-ms", str(rate_ms), "--db", _dsn(db_url)]
    )


def seed_loop(db_url: str, sim: SimulatorProcess, rate_ms: int, script: Path) -> Ran:
    subprocess.run(
        [sys.executable, str(script), "--db", _dsn(db_url), "--setup"],
        check=True,
        capture_output=True,
    )
    flags = ["--url", sim.url, f"--token={TOKEN}", "--rate-ms", str(rate_ms)]
    ran = measured([sys.executable, str(script), "--db", _dsn(db_url), *flags])
    if ran.result["failed"]:
        raise RuntimeError(f"{script.name} failed assets: {ran.result['errors'][:3]}")
    return ran


class Serving:
    """`ic3sync serve` up, with POLLERS operators polling the runs and the run's page
    (bench/pollers.py), until `close`."""

    def __init__(self, db_url: str, sim: SimulatorProcess, rate_ms: int) -> None:
        port = free_port()
        env = {**run_env(db_url, sim, rate_ms), "IC3_ADMIN_TOKEN": ADMIN_TOKEN}
        self.base = f"http://127.0.0.1:{port}"
        self.polls: dict[str, Any] = {}
        self.pollers: subprocess.Popen[str] | None = None
        self.server = subprocess.Popen(
            [IC3SYNC, "serve", "--port", str(port)],
            env=env,
            cwd=WORKDIR,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(self.base + "/healthz", timeout_s=60)
            cmd = [sys.executable, str(BENCH / "pollers.py"), "--base", self.base]
            cmd += ["--token", ADMIN_TOKEN, "--clients", str(POLLERS)]
            cmd += ["--period-s", str(POLL_PERIOD_S)]
            self.pollers = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            assert self.pollers.stdout is not None
            self.pollers.stdout.readline()  # "polling"
        except BaseException:
            self.close()
            raise

    def run(self, n: int) -> float:
        """N assets through POST /api/admin/cmms/sync: the run's own duration in seconds."""
        response = httpx.post(
            f"{self.base}/api/admin/cmms/sync",
            params={"batch": n},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=3600,
        )
        if response.status_code != 200:
            raise RuntimeError(f"POST /api/admin/cmms/sync: {response.status_code} {response.text}")
        result = response.json()
        _succeeded("ic3sync serve", result)
        if result["total"] != n:
            raise RuntimeError(f"ic3sync serve: the run took {result['total']} assets, not {n}")
        assert self.pollers is not None
        seen, _ = self.pollers.communicate(timeout=60)
        self.polls = json.loads(seen.strip().splitlines()[-1])
        if self.polls["failed"]:
            raise RuntimeError(f"the operators' polls failed: {self.polls['failures']}")
        return float(result["duration_ms"]) / 1000.0

    def close(self) -> None:
        if self.pollers is not None and self.pollers.poll() is None:
            self.pollers.kill()
            self.pollers.wait()
        self.server.terminate()
        try:
            self.server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


# -- databases: a template per backend, a fresh copy per run -------------------------------


class Template:
    """A migrated database with the register imported and synced once, so that every measured
    run updates stored rows as a nightly run does; copied afresh for each run."""

    def __init__(self, backend: str, work: Path, register: Path) -> None:
        self.backend = backend
        self.work = work
        self.copies: list[str] = []
        if backend == "sqlite":
            self.name = str(work / f"template-{uuid.uuid4().hex[:8]}.db")
            url = f"sqlite:///{self.name}"
        else:
            self.name = f"ic3bench_tpl_{uuid.uuid4().hex[:10]}"
            with _admin() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{self.name}"'))
            url = _pg_url(self.name)
        migrate(url)
        ic3sync("import-assets", str(register), env=database_env(url))
        with SimulatorProcess(0) as sim:
            sync_cli(url, sim, 0)

    def copy(self) -> str:
        if self.backend == "sqlite":
            path = self.work / f"run-{uuid.uuid4().hex[:8]}.db"
            shutil.copyfile(self.name, path)
            url = f"sqlite:///{path}"
        else:
            name = f"ic3bench_run_{uuid.uuid4().hex[:10]}"
            with _admin() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE "{self.name}"'))
            url = _pg_url(name)
        self.copies.append(url)
        return url

    def close(self) -> None:
        for url in [*self.copies, *([] if self.backend == "sqlite" else [_pg_url(self.name)])]:
            with contextlib.suppress(Exception):
                _drop(url)
        if self.backend == "sqlite":
            Path(self.name).unlink(missing_ok=True)


def _drop(url: str) -> None:
    if url.startswith("sqlite:"):
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(url.split("sqlite:///", 1)[1] + suffix).unlink(missing_ok=True)
        return
    with _admin() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{sa.make_url(url).database}" WITH (FORCE)'))


@contextlib.contextmanager
def _admin() -> Iterator[sa.Connection]:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


@contextlib.contextmanager
def fresh_database(backend: str, work: Path) -> Iterator[str]:
    """A new migrated database with nothing in it, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{work / f'fresh-{uuid.uuid4().hex[:8]}.db'}"
    else:
        name = f"ic3bench_{uuid.uuid4().hex[:10]}"
        with _admin() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = _pg_url(name)
    try:
        migrate(url)
        yield url
    finally:
        _drop(url)


def _pg_url(database: str, port: int | None = None) -> str:
    url = sa.make_url(PG_ADMIN_URL).set(database=database)
    if port is not None:
        url = url.set(port=port)
    return url.render_as_string(hide_password=False)


def _via(url: str, port: int) -> str:
    return _pg_url(sa.make_url(url).database or "", port)


def _dsn(url: str) -> str:
    """A SQLAlchemy URL as the loops' drivers take it."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def ids_csv(path: Path, n: int) -> Path:
    """The run order's ids, for the bare loop (it reads no database)."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["cmms_asset_id"])
        writer.writerows([asset_id(i)] for i in range(1, n + 1))
    return path


def measured_rtt_ms(port: int, samples: int = 200) -> float:
    """The median round trip of `SELECT 1` to PostgreSQL through `port`."""
    import psycopg

    with psycopg.connect(_dsn(_pg_url("postgres", port)), autocommit=True) as conn:
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            conn.execute("SELECT 1")
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0


# -- pace: R = 200, L = 50 -----------------------------------------------------------------


def scenario_pace(
    sizes: Sizes, work: Path, targets: Targets, reference: Path | None
) -> dict[str, Any]:
    n, rate, latency = sizes.pace_n, PACE_RATE_MS, PACE_LATENCY_MS
    register = write_csv(work / f"pace-{n}.csv", n)
    ids = ids_csv(work / f"pace-ids-{n}.csv", n)
    templates = {b: Template(b, work, register) for b in BACKENDS}
    proxy = TcpProxy(5432, delay_s=REMOTE_DELAY_S).start()
    # (where, who): one process of each a round, all at once.
    runners: list[tuple[str, str]] = [
        (where, who) for where in BACKENDS for who in ("bare", "cli", "serve", "seed")
    ] + [("remote", "bare"), ("remote", "cli")]
    if reference is not None:
        runners += [("postgresql", "bare_ref"), ("postgresql", "seed_ref")]
    times: dict[tuple[str, str], list[float]] = {r: [] for r in runners}
    stats: dict[tuple[str, str], list[dict[str, Any]]] = {r: [] for r in runners}
    polls: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
    loads: list[list[float]] = []

    def one(where: str, who: str, ready: threading.Barrier) -> None:
        backend = "postgresql" if where == "remote" else where
        url = templates[backend].copy()
        if where == "remote":
            url = _via(url, proxy.port)
        with contextlib.ExitStack() as stack:
            sim = stack.enter_context(SimulatorProcess(latency))
            if who == "serve":
                serve = Serving(url, sim, rate)
                stack.callback(serve.close)
            if who.endswith("_ref"):
                _bare_table(url)
            # Every simulator and server is up before any run starts, and every run but the
            # command line's waits until those processes have loaded, so that what each run
            # measures is its steady state.
            ready.wait()
            if who != "cli":
                time.sleep(LOADING_S)
            if who == "cli":
                seconds = sync_cli(url, sim, rate).result["duration_ms"] / 1000.0
            elif who == "serve":
                seconds = serve.run(n)
            elif who.startswith("bare"):
                script = BENCH / "bare_loop.py"
                if reference is not None and who == "bare_ref":
                    script = reference / "bare_floor.py"
                seconds = float(bare_loop(url, sim, rate, ids, script).result["loop_s"])
            else:
                script = BENCH / "seed_loop.py"
                if reference is not None and who == "seed_ref":
                    script = reference / "seed_port.py"
                seconds = float(seed_loop(url, sim, rate, script).result["loop_s"])
            stats[(where, who)].append(sim.stats())
        times[(where, who)].append(seconds)
        if who == "serve":
            polls[where].append(serve.polls)

    rtt = measured_rtt_ms(proxy.port)
    try:
        for r in range(sizes.rounds):
            say(
                f"pace: round {r + 1}/{sizes.rounds}, {len(runners)} runs at once, N={n}, "
                f"R={rate} ms, L={latency} ms (about {n * (rate + latency) / 1000:.0f} s)"
            )
            # The launch order rotates, so no runner is always first to the cores.
            order = runners[r % len(runners) :] + runners[: r % len(runners)]
            ready = threading.Barrier(len(order), timeout=300)
            with ThreadPoolExecutor(max_workers=len(order)) as pool:
                futures = [pool.submit(one, *runner, ready) for runner in order]
                for future in futures:
                    try:
                        future.result()
                    except BaseException:
                        ready.abort()
                        raise
            loads.append(load())
    finally:
        proxy.close()
        for t in templates.values():
            t.close()

    def ratio(a: tuple[str, str], b: tuple[str, str]) -> float:
        return statistics.median(x / y for x, y in zip(times[a], times[b], strict=True))

    floor_s = ((n - 1) * max(rate, latency) + latency) / 1000.0
    out: dict[str, Any] = {
        "n": n,
        "rate_ms": rate,
        "latency_ms": latency,
        "rounds": sizes.rounds,
        "remote_rtt_ms": round(rtt, 3),
        "formula_floor_s": floor_s,
        "seconds": {f"{w}/{who}": [round(t, 3) for t in ts] for (w, who), ts in times.items()},
        "ms_per_asset": {
            f"{w}/{who}": round(statistics.median(ts) * 1000 / n, 3)
            for (w, who), ts in times.items()
        },
        "max_in_flight": {
            f"{w}/{who}": max(s.get("max_in_flight", 0) for s in st)
            for (w, who), st in stats.items()
        },
        "min_gap_ms": {
            f"{w}/{who}": min((s["min_gap_ms"] for s in st if s.get("min_gap_ms")), default=None)
            for (w, who), st in stats.items()
        },
        "polls": polls,
        "load": loads,
    }
    for where in (*BACKENDS, "remote"):
        out[f"{where}: cli / bare"] = round(ratio((where, "cli"), (where, "bare")), 4)
        out[f"{where}: bare / floor"] = round(
            statistics.median(times[(where, "bare")]) / floor_s, 4
        )
        targets.check(
            f"R=200 L=50 {LABEL[where]}: ic3sync / bare loop",
            out[f"{where}: cli / bare"],
            "<=",
            1.01,
            "x",
        )
    for where in BACKENDS:
        out[f"{where}: serve / cli"] = round(ratio((where, "serve"), (where, "cli")), 4)
        out[f"{where}: seed / cli"] = round(ratio((where, "seed"), (where, "cli")), 4)
        targets.check(
            f"R=200 L=50 {LABEL[where]}: serve with {POLLERS} pollers / CLI",
            out[f"{where}: serve / cli"],
            "<=",
            1.02,
            "x",
        )
    for runner, most in out["max_in_flight"].items():
        if not runner.endswith(("seed", "_ref")):
            targets.check(f"R=200 L=50 {runner}: requests in flight at once", most, "<=", 1)
    if reference is not None:
        out["bare / reference"] = round(
            ratio(("postgresql", "bare"), ("postgresql", "bare_ref")), 4
        )
        out["seed / reference"] = round(
            ratio(("postgresql", "seed"), ("postgresql", "seed_ref")), 4
        )
    return out


def _bare_table(db_url: str) -> None:
    """The reference bare loop expects its table to exist."""
    engine = sa.create_engine(db_url)
    key = "BIGSERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"CREATE TABLE IF NOT EXISTS bare_commit (id {key} PRIMARY KEY, v TEXT)")
        )
    engine.dispose()


# -- cpu: R = L = 0 ------------------------------------------------------------------------


def scenario_cpu(sizes: Sizes, work: Path, targets: Targets) -> dict[str, Any]:
    n = sizes.cpu_n
    register = write_csv(work / f"cpu-{n}.csv", n)
    ids = ids_csv(work / f"cpu-ids-{n}.csv", n)
    out: dict[str, Any] = {"n": n, "rounds": sizes.rounds}
    for backend in BACKENDS:
        template = Template(backend, work, register)
        cpu: dict[str, list[float]] = {"cli": [], "bare": []}
        wall: dict[str, list[float]] = {"cli": [], "bare": []}
        try:
            with SimulatorProcess(0) as sim:
                for r in range(sizes.rounds):
                    for who in ("cli", "bare") if r % 2 == 0 else ("bare", "cli"):
                        say(f"cpu: {LABEL[backend]}, round {r + 1}/{sizes.rounds}, {who}, N={n}")
                        url = template.copy()
                        ran = (
                            sync_cli(url, sim, 0)
                            if who == "cli"
                            else bare_loop(url, sim, 0, ids, BENCH / "bare_loop.py")
                        )
                        _drop(url)
                        cpu[who].append(ran.cpu_s * 1000 / n)
                        wall[who].append(ran.wall_s * 1000 / n)
        finally:
            template.close()
        ratio = statistics.median(c / b for c, b in zip(cpu["cli"], cpu["bare"], strict=True))
        out[backend] = {
            "cpu_ms_per_asset": {w: round(statistics.median(v), 4) for w, v in cpu.items()},
            "process_wall_ms_per_asset": {
                w: round(statistics.median(v), 4) for w, v in wall.items()
            },
            "cpu_ms_per_asset_rounds": {w: [round(x, 4) for x in v] for w, v in cpu.items()},
            "cli / bare": round(ratio, 3),
            "load": load(),
        }
        targets.check(
            f"R=L=0 {LABEL[backend]}: CPU per asset, ic3sync / bare loop",
            ratio,
            "<=",
            CPU_BUDGET[backend],
            "x",
        )
    return out


# -- scale: import and peak RSS ------------------------------------------------------------


def scenario_scale(sizes: Sizes, work: Path, targets: Targets) -> dict[str, Any]:
    small, large = sizes.scale
    out: dict[str, Any] = {"sizes": [small, large]}
    registers = {}
    for n in sizes.scale:
        say(f"scale: writing a {n:,}-row .xlsx register")
        registers[n] = write_xlsx(work / f"scale-{n}.xlsx", n)
    res: dict[str, dict[str, Any]] = {backend: {} for backend in BACKENDS}
    with contextlib.ExitStack() as stack:
        urls = {
            (backend, n): stack.enter_context(fresh_database(backend, work))
            for backend in BACKENDS
            for n in sizes.scale
        }
        for (backend, n), url in urls.items():
            say(f"scale: {LABEL[backend]}, ic3sync import-assets of {n:,} rows")
            imported = measured([IC3SYNC, "import-assets", str(registers[n])], database_env(url))
            res[backend][str(n)] = {
                "import_s": round(imported.wall_s, 3),
                "import_cpu_s": round(imported.cpu_s, 3),
                "import_rows_per_s": round(n / imported.wall_s),
            }

        # The peak RSS of a process does not depend on what runs beside it: the syncs of both
        # databases run at once, each against a simulator of its own.
        def sync(backend: str, n: int) -> None:
            with SimulatorProcess(0) as sim:
                synced = sync_cli(urls[(backend, n)], sim, 0, rss=True)
            res[backend][str(n)].update(
                sync_ms_per_asset=round(synced.result["duration_ms"] / n, 3),
                peak_rss_mb=round(synced.peak_rss_mb, 1),
            )

        for n in sizes.scale:
            say(f"scale: ic3sync sync of {n:,} assets, on PostgreSQL and SQLite at once")
            with ThreadPoolExecutor(max_workers=len(BACKENDS)) as pool:
                for future in [pool.submit(sync, backend, n) for backend in BACKENDS]:
                    future.result()
    out["load"] = load()
    for backend in BACKENDS:
        figures = res[backend]
        one, many = figures[str(small)], figures[str(large)]
        figures["rss_ratio"] = round(many["peak_rss_mb"] / one["peak_rss_mb"], 3)
        # The process's start-up is paid once whatever the size; the difference between the
        # two imports is what each further row costs.
        figures["import_rows_per_s_net"] = round(
            (large - small) / (many["import_s"] - one["import_s"])
        )
        # Per second of the import's own CPU: what the load of a shared machine does not stretch.
        figures["import_rows_per_cpu_s_net"] = round(
            (large - small) / (many["import_cpu_s"] - one["import_cpu_s"])
        )
        out[backend] = figures
        targets.check(
            f"{LABEL[backend]}: peak RSS of the sync, {large:,} / {small:,} assets",
            figures["rss_ratio"],
            "<=",
            1.1,
            "x",
        )
        targets.check(
            f"{LABEL[backend]}: xlsx import, rows/s", figures["import_rows_per_s_net"], ">=", 10_000
        )
    return out


# -- the report ----------------------------------------------------------------------------


def table(results: dict[str, Any]) -> str:
    rows: list[tuple[str, str, str]] = []
    pace = results.get("pace")
    if pace:
        n, ms = pace["n"], pace["ms_per_asset"]
        head = f"R=200 L=50 N={n}"
        for where in (*BACKENDS, "remote"):
            label = LABEL[where] + (
                f" (RTT {pace['remote_rtt_ms']:.2f} ms)" if where == "remote" else ""
            )
            per = ", ".join(
                f"{who} {v:.2f}"
                for key, v in ms.items()
                for w, who in [key.split("/")]
                if w == where
            )
            rows.append((f"{head} {label}: ms/asset", per, ""))
            rows.append(
                ("  ic3sync / bare loop", f"{pace[f'{where}: cli / bare']:.4f}x", "<= 1.01x")
            )
            if where in BACKENDS:
                polls = pace["polls"][where][-1] if pace["polls"][where] else {}
                rows.append(
                    (
                        f"  serve, {POLLERS} pollers / CLI",
                        f"{pace[f'{where}: serve / cli']:.4f}x (a poll's answer: p50 "
                        f"{polls.get('p50_ms')} ms, p99 {polls.get('p99_ms')} ms)",
                        "<= 1.02x",
                    )
                )
                rows.append(
                    (
                        "  seed loop / ic3sync (ic3sync's lead)",
                        f"{pace[f'{where}: seed / cli']:.4f}x",
                        "reported",
                    )
                )
            rows.append(
                ("  bare loop / (N-1)·max(R,L)+L", f"{pace[f'{where}: bare / floor']:.4f}x", "")
            )
        if "bare / reference" in pace:
            rows.append(("bare loop / reference", f"{pace['bare / reference']:.4f}x", ""))
            rows.append(("seed loop / reference", f"{pace['seed / reference']:.4f}x", ""))
    cpu = results.get("cpu")
    if cpu:
        for backend in BACKENDS:
            c = cpu[backend]
            ours, bare = c["cpu_ms_per_asset"]["cli"], c["cpu_ms_per_asset"]["bare"]
            rows.append(
                (
                    f"R=L=0 {LABEL[backend]} N={cpu['n']}: CPU ms/asset",
                    f"ic3sync {ours:.3f}, bare loop {bare:.3f} = {c['cli / bare']:.2f}x",
                    f"<= {CPU_BUDGET[backend]:g}x",
                )
            )
    scale = results.get("scale")
    if scale:
        small, large = scale["sizes"]
        for backend in BACKENDS:
            s = scale[backend]
            rows.append(
                (
                    f"{LABEL[backend]}: sync peak RSS {small:,} / {large:,}",
                    f"{s[str(small)]['peak_rss_mb']:.1f} / {s[str(large)]['peak_rss_mb']:.1f} MB "
                    f"= {s['rss_ratio']:.3f}x",
                    "<= 1.1x",
                )
            )
            rows.append(
                (
                    f"{LABEL[backend]}: xlsx import, rows/s",
                    f"{s['import_rows_per_s_net']:,} net of start-up "
                    f"({s['import_rows_per_cpu_s_net']:,} per CPU second; "
                    f"whole process: {s[str(small)]['import_rows_per_s']:,} at {small:,}, "
                    f"{s[str(large)]['import_rows_per_s']:,} at {large:,})",
                    ">= 10,000",
                )
            )
    w1 = max((len(r[0]) for r in rows), default=10)
    w2 = max((len(r[1]) for r in rows), default=10)
    lines = [f"{'figure':<{w1}}  {'measured':<{w2}}  target", "-" * (w1 + w2 + 12)]
    lines += [f"{a:<{w1}}  {b:<{w2}}  {c}" for a, b, c in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small N, for trying the bench")
    parser.add_argument("--only", default="pace,cpu,scale")
    parser.add_argument("--rounds", type=int, help="rounds of pace and cpu (default 3, quick 2)")
    parser.add_argument(
        "--reference", type=Path, help="a folder with bare_floor.py and seed_port.py to compare"
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    if args.rounds:
        sizes.rounds = args.rounds
    only = set(args.only.split(","))
    reference = args.reference.resolve() if args.reference else None

    targets = Targets()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": load(),
        "quick": args.quick,
    }
    scenarios: list[tuple[str, Callable[[Path], dict[str, Any]]]] = [
        ("pace", lambda w: scenario_pace(sizes, w, targets, reference)),
        ("cpu", lambda w: scenario_cpu(sizes, w, targets)),
        ("scale", lambda w: scenario_scale(sizes, w, targets)),
    ]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ic3bench-") as tmp:
        for name, scenario in scenarios:
            if name in only:
                part = time.perf_counter()
                results[name] = scenario(Path(tmp))
                results[name]["took_s"] = round(time.perf_counter() - part, 1)
                # Kept as each part ends: a bench stopped midway keeps what it measured.
                args.output.write_text(json.dumps(results, indent=2) + "\n")
    results["load_after"] = load()
    results["bench_s"] = round(time.perf_counter() - started, 1)
    results["targets"] = targets.checked
    results["missed"] = targets.missed

    print(table(results))
    print(
        f"\nload average before {results['load_before']}, after {results['load_after']}; "
        f"{results['machine']['nproc']} x {results['machine']['cpu']}, "
        f"PostgreSQL {results['machine']['postgresql']}; bench took {results['bench_s']} s"
    )
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    shown = args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output
    print(f"wrote {shown}")
    if targets.missed:
        print("\nTARGETS MISSED:", file=sys.stderr)
        for line in targets.missed:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print("every target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
