"""`make bench-prune`: on PostgreSQL, `ic3sync prune` (its own process) deletes 1,000,000 old
cmms_sync_log rows while a sync runs against the simulator, and we measure how long the prune
took and how long each of the sync's asset transactions took (BEGIN to COMMIT), before and
during the prune. Prints the figures, writes bench/prune-results.json, exits 1 when an asset's
transaction took a second or more.

    python bench/prune.py [--rows 1000000] [--assets 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from harness import IC3SYNC, TOKEN, SimulatorProcess, machine, pg_database, run_env
from ic3sync.db.engine import make_engine
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.model import AssetSelection
from ic3sync.sync import run_sync

RESULTS = Path(__file__).resolve().parent / "prune-results.json"
RETENTION_DAYS = 180
LIMIT_S = 1.0


def seed(engine: sa.Engine, rows: int, assets: int) -> float:
    """The register, and `rows` log rows of nightly runs older than the retention."""
    started = time.monotonic()
    runs = -(-rows // assets)
    asset_name = (
        "format('Bench Site %s_PUMP_%s', lpad((a / 50)::text, 4, '0'), lpad(a::text, 6, '0'))"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO ic3_asset_master (cmms_asset_id, report_seq_no, customer_id, "
                f"created_at, updated_at) SELECT {asset_name}, a, 24463, now(), now() "
                "FROM generate_series(1, :n) a"
            ),
            {"n": assets},
        )
        conn.execute(
            sa.text(
                "INSERT INTO cmms_sync_run (trigger, status, total, success, started_at, "
                "finished_at) SELECT 'schedule', 'completed', :a, :a, "
                "now() - make_interval(days => :keep + :runs - g), "
                "now() - make_interval(days => :keep + :runs - g) + interval '1 hour' "
                "FROM generate_series(1, :runs) g"
            ),
            {"a": assets, "runs": runs, "keep": RETENTION_DAYS + 1},
        )
        conn.execute(
            sa.text(
                "INSERT INTO cmms_sync_log (run_id, customer_id, cmms_asset_id, status, "
                "attempts, synced_at, duration_ms) "
                f"SELECT r.run_id, 24463, {asset_name}, 'success', 1, "
                "r.started_at + make_interval(secs => a), 150 "
                "FROM cmms_sync_run r CROSS JOIN generate_series(1, :a) a "
                "ORDER BY r.run_id, a LIMIT :rows"
            ),
            {"a": assets, "rows": rows},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE cmms_sync_log"))
        conn.execute(sa.text("VACUUM ANALYZE cmms_sync_run"))
    return time.monotonic() - started


class TransactionClock:
    """BEGIN-to-COMMIT (or ROLLBACK) time of every transaction on an engine, stamped with when
    it ended, so the ones that overlapped the prune can be told apart."""

    def __init__(self, engine: sa.Engine) -> None:
        self.spans: list[tuple[float, float]] = []  # (ended at, seconds)
        sa.event.listen(engine, "begin", self._begin)
        sa.event.listen(engine, "commit", self._end)
        sa.event.listen(engine, "rollback", self._end)

    def _begin(self, conn: sa.Connection) -> None:
        conn.info["began"] = time.monotonic()

    def _end(self, conn: sa.Connection) -> None:
        began = conn.info.pop("began", None)
        if began is not None:
            now = time.monotonic()
            self.spans.append((now, now - began))

    def between(self, start: float, end: float) -> list[float]:
        return [s for at, s in self.spans if start <= at <= end]


def figures(spans: list[float]) -> dict[str, float]:
    if not spans:
        return {"n": 0}
    ordered = sorted(spans)
    return {
        "n": len(spans),
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def syncing(engine: sa.Engine, sim: SimulatorProcess, stop: threading.Event, runs: list) -> None:
    """Full runs, one after another, until `stop`; the last is cancelled mid-run."""
    while not stop.is_set():
        client = InnomaintClient(
            url=sim.url, token=SecretStr(TOKEN), rate_ms=5, timeout_s=15, max_retries=3
        )
        with client:
            result = run_sync(
                engine, client, trigger="cli", selection=AssetSelection(), cancel=stop
            )
        runs.append(result.as_dict())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=3_000)
    parser.add_argument("--baseline-s", type=float, default=8.0)
    args = parser.parse_args(argv)

    with pg_database("ic3prune") as url, SimulatorProcess() as sim:
        engine = make_engine(url)
        print(f"seeding {args.rows:,} log rows for {args.assets:,} assets ...", flush=True)
        seed_s = seed(engine, args.rows, args.assets)
        clock = TransactionClock(engine)
        stop = threading.Event()
        runs: list[dict[str, Any]] = []
        sync = threading.Thread(target=syncing, args=(engine, sim, stop, runs), daemon=True)
        env = {**run_env(url, sim, 0), "IC3_LOG_RETENTION_DAYS": str(RETENTION_DAYS)}

        dry = subprocess.run(
            [IC3SYNC, "prune", "--dry-run"], env=env, capture_output=True, text=True, check=True
        )
        print(dry.stdout.strip(), flush=True)
        t0 = time.monotonic()
        sync.start()
        time.sleep(args.baseline_s)  # the sync alone, for comparison
        prune_start = time.monotonic()
        pruned = subprocess.run(
            [IC3SYNC, "prune"], env=env, capture_output=True, text=True, check=False
        )
        prune_end = time.monotonic()
        time.sleep(1.0)
        stop.set()
        sync.join(60)
        with engine.connect() as conn:
            left = conn.execute(sa.text("SELECT count(*) FROM cmms_sync_log")).scalar_one()
            old_left = conn.execute(
                sa.text(
                    "SELECT count(*) FROM cmms_sync_log WHERE synced_at < now() - "
                    "make_interval(days => :d)"
                ),
                {"d": RETENTION_DAYS},
            ).scalar_one()
        engine.dispose()

    if pruned.returncode != 0:
        print(pruned.stdout, pruned.stderr, file=sys.stderr)
        return 1
    during = clock.between(prune_start, prune_end)
    before = clock.between(t0, prune_start)
    results = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "rows_seeded": args.rows,
        "assets": args.assets,
        "seed_s": round(seed_s, 1),
        "dry_run": dry.stdout.strip(),
        "prune": pruned.stdout.strip(),
        "prune_wall_s": round(prune_end - prune_start, 2),
        "log_rows_left": left,
        "old_rows_left_latest_per_asset": old_left,
        "asset_transactions_before_prune": figures(before),
        "asset_transactions_during_prune": figures(during),
        "sync_runs": [
            {k: r[k] for k in ("run_id", "status", "success", "failed", "skipped")} for r in runs
        ],
    }
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "machine"}, indent=2))
    worst = results["asset_transactions_during_prune"].get("max_ms", 0.0) / 1000
    ok = bool(during) and worst < LIMIT_S
    print(
        f"prune of {args.rows:,} rows: {results['prune_wall_s']} s; longest asset transaction "
        f"during it: {worst * 1000:.1f} ms over {len(during)} transactions "
        f"({'under' if ok else 'NOT under'} {LIMIT_S:g} s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
