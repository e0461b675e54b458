"""What the change history and the export cost, measured through their real code paths:

1. run_sync with change detection against without it (`detect_changes=False`), at R = L = 0 on
   PostgreSQL, the simulator in its own process: steady-state runs after a baseline, alternated
   so that the shared machine's load falls on both alike, the fastest of each compared; then one
   run in which a tenth of the assets changed. A figure, not a target: at R = L = 0 it shows what
   the history costs in CPU, which at the customer's pace the wait for the next request hides.
2. `ic3sync export --xlsx` of a register of 50,000 assets (and of 5,000, to show the memory does
   not grow with it) as a process: wall time and its peak RSS (wait4's ru_maxrss of that child).

Prints a table and writes bench/changes.json; exits non-zero only when something fails to run.

    python bench/changes.py [--assets 1000] [--rounds 7] [--export 5000 50000]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy as sa
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import (
    IC3SYNC,
    ROOT,
    TOKEN,
    SimulatorProcess,
    machine,
    pg_database,
    run_env,
    write_csv,
)
from ic3sync.db.engine import make_engine
from ic3sync.db.schema import (
    asset_change,
    asset_master,
    asset_performance,
    workorder_summary,
)
from ic3sync.importer import import_assets
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.sync import run_sync

RESULTS = ROOT / "bench" / "changes.json"


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def database_cpu_s(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `database`."""
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or ())
        if cmdline.startswith("postgres:") and f" {database} " in cmdline:
            with contextlib.suppress(psutil.Error):
                cpu = proc.cpu_times()
                total += cpu.user + cpu.system
    return total


@dataclass
class Run:
    wall_ms: float  # per asset
    cpu_ms: float  # per asset: this process (the sync) and its database backends


def one_run(engine: sa.Engine, sim: SimulatorProcess, *, detect: bool) -> Run:
    """One run of the register; wall time, and the CPU time the machine's load does not
    stretch: the sync's own and its database backends'."""
    client = InnomaintClient(url=sim.url, token=SecretStr(TOKEN), rate_ms=0)
    database = engine.url.database or ""
    try:
        db_before, cpu_before = database_cpu_s(database), time.process_time()
        started = time.perf_counter()
        result = run_sync(engine, client, trigger="cli", detect_changes=detect)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before + database_cpu_s(database) - db_before
    finally:
        client.close()
    if result.status != "completed" or result.failed:
        raise RuntimeError(f"the run did not succeed: {result.as_dict()}")
    return Run(wall * 1000 / result.total, cpu * 1000 / result.total)


def change_count(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM ic3_asset_change")).scalar_one()


def edit_a_tenth(engine: sa.Engine) -> None:
    """Stored values that differ from the answers for one asset in ten, in three tables."""
    tenth = sa.select(asset_master.c.asset_id).where(asset_master.c.asset_id % 10 == 0)
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.asset_id.in_(tenth))
            .values(criticality="Edited")
        )
        conn.execute(
            sa.update(asset_performance)
            .where(asset_performance.c.asset_id.in_(tenth))
            .values(mttr="1:00:00")
        )
        conn.execute(
            sa.update(workorder_summary)
            .where(workorder_summary.c.asset_id.in_(tenth))
            .values(ticket_count=-1)
        )


def sync_cost(n: int, rounds: int, work: Path) -> dict[str, Any]:
    with SimulatorProcess(0.0) as sim, pg_database("ic3bench_changes") as url:
        engine = make_engine(url)
        try:
            import_assets(engine, write_csv(work / "register.csv", n))
            say(f"sync: baseline run of {n} assets")
            one_run(engine, sim, detect=True)
            assert change_count(engine) == 0, "a baseline recorded changes"
            with_runs: list[Run] = []
            without_runs: list[Run] = []
            for i in range(rounds):
                # Alternate which goes first, so a drift in the machine's load favours neither.
                order = (True, False) if i % 2 == 0 else (False, True)
                for detect in order:
                    run = one_run(engine, sim, detect=detect)
                    (with_runs if detect else without_runs).append(run)
                    say(
                        f"sync: round {i + 1}, detection {'on' if detect else 'off'}: "
                        f"{run.wall_ms:.3f} ms, CPU {run.cpu_ms:.3f} ms per asset"
                    )
            unchanged = change_count(engine)
            edit_a_tenth(engine)
            changed = one_run(engine, sim, detect=True)
            recorded = change_count(engine) - unchanged
        finally:
            engine.dispose()
    # The machine is shared: other work lengthens some runs severalfold. The fastest run of each
    # kind is the one least disturbed, the closest to what the code itself costs; the medians
    # are kept beside it.
    with_ms, without_ms = [r.wall_ms for r in with_runs], [r.wall_ms for r in without_runs]
    on, off = min(with_ms), min(without_ms)
    on_median, off_median = statistics.median(with_ms), statistics.median(without_ms)
    cpu_on = statistics.median(r.cpu_ms for r in with_runs)
    cpu_off = statistics.median(r.cpu_ms for r in without_runs)
    return {
        "n": n,
        "rounds": rounds,
        "ms_per_asset_without": round(off, 3),
        "ms_per_asset_with": round(on, 3),
        "runs_without": [round(x, 3) for x in without_ms],
        "runs_with": [round(x, 3) for x in with_ms],
        "slowdown_pct": round((on - off) / off * 100, 1),
        "median_slowdown_pct": round((on_median - off_median) / off_median * 100, 1),
        "cpu_ms_per_asset_without": round(cpu_off, 3),
        "cpu_ms_per_asset_with": round(cpu_on, 3),
        "cpu_increase_pct": round((cpu_on - cpu_off) / cpu_off * 100, 1),
        "changes_in_unchanged_runs": unchanged,
        "ms_per_asset_with_a_tenth_changed": round(changed.wall_ms, 3),
        "changes_recorded_with_a_tenth_changed": recorded,
    }


def fill_register(url: str, n: int, template: int, sim: SimulatorProcess, work: Path) -> None:
    """`template` assets synced for real (twice, with edits between, so there are changes and a
    failure), then copied in SQL to n assets with every stored column and their changes."""
    engine = make_engine(url)
    try:
        import_assets(engine, write_csv(work / "template.csv", template))
        one_run(engine, sim, detect=True)
        edit_a_tenth(engine)
        one_run(engine, sim, detect=True)
        copies = n // template
        master_cols = [
            c.name for c in asset_master.c if c.name not in ("asset_id", "cmms_asset_id")
        ]
        perf_cols = [
            c.name for c in asset_performance.c if c.name not in ("performance_id", "asset_id")
        ]
        wo_cols = [c.name for c in workorder_summary.c if c.name not in ("summary_id", "asset_id")]
        # Every column of the history but its keys, read from the table: a column a migration
        # adds is copied too.
        change_cols = [
            c.name
            for c in asset_change.c
            if c.name not in ("change_id", "asset_id", "cmms_asset_id")
        ]

        def cols(names: list[str], alias: str) -> str:
            return ", ".join(f"{alias}.{c}" for c in names)

        copy_of = "split_part(m.cmms_asset_id, ' #', 1) = src.cmms_asset_id"
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO ic3_asset_master (cmms_asset_id, {', '.join(master_cols)}) "
                    f"SELECT src.cmms_asset_id || ' #' || g, {cols(master_cols, 'src')} "
                    f"FROM ic3_asset_master src, generate_series(2, {copies}) g"
                )
            )
            for table, names in (
                ("ic3_asset_performance", perf_cols),
                ("ic3_workorder_summary", wo_cols),
            ):
                conn.execute(
                    sa.text(
                        f"INSERT INTO {table} (asset_id, {', '.join(names)}) "
                        f"SELECT m.asset_id, {cols(names, 't')} FROM ic3_asset_master m "
                        f"JOIN ic3_asset_master src ON {copy_of} "
                        f"JOIN {table} t ON t.asset_id = src.asset_id "
                        "WHERE m.cmms_asset_id LIKE '% #%'"
                    )
                )
            conn.execute(
                sa.text(
                    "INSERT INTO ic3_asset_change (asset_id, cmms_asset_id, "
                    f"{', '.join(change_cols)}) "
                    f"SELECT m.asset_id, m.cmms_asset_id, {cols(change_cols, 'c')} "
                    "FROM ic3_asset_master m "
                    f"JOIN ic3_asset_master src ON {copy_of} "
                    "JOIN ic3_asset_change c ON c.asset_id = src.asset_id "
                    "WHERE m.cmms_asset_id LIKE '% #%'"
                )
            )
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


def export_once(url: str, sim: SimulatorProcess, work: Path) -> dict[str, Any]:
    out = work / "export.xlsx"
    started = time.perf_counter()
    proc = subprocess.Popen(
        [IC3SYNC, "export", "--xlsx", str(out)],
        env=run_env(url, sim, 0),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # wait4: the resource use of this child alone.
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    stdout = proc.stdout.read() if proc.stdout else ""
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"export failed: {stderr}")
    return {
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "file_mb": round(out.stat().st_size / 2**20, 1),
        "output": stdout.strip(),
    }


def export_cost(sizes: list[int], work: Path) -> list[dict[str, Any]]:
    out = []
    with SimulatorProcess(0.0) as sim:
        for n in sizes:
            with pg_database("ic3bench_export") as url:
                say(f"export: filling a register of {n} assets")
                fill_register(url, n, template=min(n, 500), sim=sim, work=work)
                say(f"export: ic3sync export --xlsx of {n} assets")
                out.append({"n": n, **export_once(url, sim, work)})
    return out


def table(results: dict[str, Any]) -> str:
    s = results["sync"]
    lines = [
        f"sync at R=L=0, PostgreSQL, {s['n']} assets, fastest of {s['rounds']} runs each"
        f" (medians differ by {s['median_slowdown_pct']:+.1f} %):",
        f"  without change detection   {s['ms_per_asset_without']:.3f} ms/asset",
        f"  with change detection      {s['ms_per_asset_with']:.3f} ms/asset"
        f"   ({s['slowdown_pct']:+.1f} %)",
        f"  CPU (sync + its database)  {s['cpu_ms_per_asset_without']:.3f} -> "
        f"{s['cpu_ms_per_asset_with']:.3f} ms/asset, median ({s['cpu_increase_pct']:+.1f} %)",
        f"  with a tenth changed       {s['ms_per_asset_with_a_tenth_changed']:.3f} ms/asset"
        f"   ({s['changes_recorded_with_a_tenth_changed']} changes recorded)",
    ]
    for e in results.get("export", []):
        lines.append(
            f"export --xlsx of {e['n']:>6} assets: {e['wall_s']:.1f} s, "
            f"peak RSS {e['peak_rss_mb']:.0f} MB, file {e['file_mb']:.1f} MB"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--export",
        type=int,
        nargs="*",
        default=[5000, 50000],
        help="register sizes to export; none: keep the export figures of the last results",
    )
    args = parser.parse_args(argv)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_before": list(os.getloadavg()),
    }
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results["sync"] = sync_cost(args.assets, args.rounds, work)
        if args.export:
            results["export"] = export_cost(args.export, work)
        elif RESULTS.exists():
            previous = json.loads(RESULTS.read_text())
            results["export"] = previous.get("export", [])
            results["export_measured_at"] = previous.get(
                "export_measured_at", previous.get("started_at")
            )
    results["load_after"] = list(os.getloadavg())
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
