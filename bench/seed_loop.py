#!/usr/bin/env python3
"""The customer's sketch of the sync (spec: SyncAllAssetsFromInnomaint, FetchInnomaintAssetDetail,
EnrichAssetFromAPI) ported line by line to Python, kept only as the benchmark's anchor: what the
sketch costs on this machine, written as leanly as Python allows. Not the product; nothing
imports it but bench/run.py, which runs it as a process of its own.

As the sketch does it:
- one database connection in autocommit (pgx's pool.Query / pool.Exec run outside any
  transaction); pool.Begin and tx.Commit are an explicit BEGIN and COMMIT, each a round trip;
- its statements in its order, each its own round trip, each prepared once (pgx's statement
  cache: prepare_threshold=0): BEGIN, building, floor, department (each when its id > 0), the
  master UPDATE, SELECT asset_id, the performance upsert, two work-order upserts, COMMIT, then
  the success row in autocommit: 11 round trips and 2 commits per asset on PostgreSQL;
- time.Sleep(rate) before every request but the first, whatever the request took;
- http.Client{Timeout: 15 s} with keep-alive: one kept-open http.client connection with
  TCP_NODELAY (Go sets it on every TCP connection); no retries;
- json decoding into typed structs: an absent or null field is Go's zero value (0, "");
  nullInt(0) and nullStr("") store NULL.
It logs into the sketch's own ic3_sync_log and cmms_sync_log tables (`--setup` makes them, in
a throw-away database: it drops ic3sync's own). On SQLite: the same statements with ? and
CURRENT_TIMESTAMP, and the pragmas of ic3sync's engine.

    python bench/seed_loop.py --db URL --url INNOMAINT_API_URL --token T [--rate-ms R]
    python bench/seed_loop.py --db URL --setup
"""

from __future__ import annotations

import argparse
import http.client
import json
import socket
import sqlite3
import sys
import time
import urllib.parse
from typing import Any

SQL_SELECT_IDS = """
    SELECT cmms_asset_id FROM ic3_asset_master
    WHERE cmms_asset_id IS NOT NULL
    ORDER BY report_seq_no ASC NULLS LAST
    LIMIT %s OFFSET %s"""

SQL_BUILDING = """
    INSERT INTO ic3_building (building_id, customer_id, building_name, created_at, updated_at)
    VALUES (%s, %s, %s, NOW(), NOW())
    ON CONFLICT (building_id) DO UPDATE SET
        building_name = EXCLUDED.building_name,
        updated_at    = NOW()"""

SQL_FLOOR = """
    INSERT INTO ic3_floor_master
        (floor_id, floor_name, location_id, asset_floor_id, created_at, updated_at)
    VALUES (%s, %s, %s, %s, NOW(), NOW())
    ON CONFLICT (floor_id) DO UPDATE SET
        floor_name    = EXCLUDED.floor_name,
        updated_at    = NOW()"""

SQL_DEPARTMENT = """
    INSERT INTO ic3_department_master (department_id, department_name, floor_id, location_id,
        asset_department_id, created_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, NOW(), NOW())
    ON CONFLICT (department_id) DO UPDATE SET
        department_name    = EXCLUDED.department_name,
        updated_at         = NOW()"""

_MASTER_COLUMNS = (
    "traceability_id",
    "barcode",
    "criticality",
    "capacity_rating",
    "building_id",
    "floor_id",
    "department_id",
    "asset_building_id",
    "asset_floor_id",
    "asset_department_id",
    "fk_customers_equipment_mapping_id",
    "customers_locations_serialnumber_mapping_id",
    "customer_traceability_id",
    "customer_model_id",
    "location_traceability_id",
    "location_model_id",
    "in_charge_person",
    "ticketcount",
    "schedulecount",
    "schedule_configured",
    "schedule_initiate",
    "iot_device_mapped",
    "status",
    "asset_live_status",
    "mapping_status",
    "traceability_status",
    "is_loaner",
    "is_ble_tracking",
    "is_rfid_tracking",
    "is_qr_tracking",
    "is_tracking_enabled",
)
# The WHERE key ($1 in the sketch) is the last parameter here.
SQL_UPDATE_MASTER = (
    "UPDATE ic3_asset_master SET "
    + ", ".join(f"{c} = %s" for c in _MASTER_COLUMNS)
    + ", last_synced_at = NOW(), sync_version = COALESCE(sync_version, 0) + 1, updated_at = NOW()"
    + " WHERE cmms_asset_id = %s"
)

SQL_SELECT_ASSET_ID = "SELECT asset_id FROM ic3_asset_master WHERE cmms_asset_id = %s"

SQL_PERFORMANCE = """
    INSERT INTO ic3_asset_performance (
        asset_id, serialnumber, equipments_name, equipment_model_name,
        criticality_type_label, total_ticket, mttr, mtbf, availability,
        total_ticket_breakdown_hrs, total_schedule_breakdown_hrs,
        asset_created_date, total_actual_hrs, recorded_at
    ) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,NOW())
    ON CONFLICT (asset_id) DO UPDATE SET
        total_ticket                = EXCLUDED.total_ticket,
        mttr                        = EXCLUDED.mttr,
        mtbf                        = EXCLUDED.mtbf,
        availability                = EXCLUDED.availability,
        total_ticket_breakdown_hrs  = EXCLUDED.total_ticket_breakdown_hrs,
        total_schedule_breakdown_hrs= EXCLUDED.total_schedule_breakdown_hrs,
        total_actual_hrs            = EXCLUDED.total_actual_hrs,
        recorded_at                 = NOW()"""

SQL_WORKORDER = """
    INSERT INTO ic3_workorder_summary (
        asset_id, period_type,
        work_estimate_count, work_estimate_cost,
        schedule_count, schedule_cost,
        ticket_count, ticket_cost, updated_at
    ) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,NOW())
    ON CONFLICT (asset_id, period_type) DO UPDATE SET
        work_estimate_count = EXCLUDED.work_estimate_count,
        work_estimate_cost  = EXCLUDED.work_estimate_cost,
        schedule_count      = EXCLUDED.schedule_count,
        schedule_cost       = EXCLUDED.schedule_cost,
        ticket_count        = EXCLUDED.ticket_count,
        ticket_cost         = EXCLUDED.ticket_cost,
        updated_at          = NOW()"""

SQL_LOG_ERROR = """
    INSERT INTO ic3_sync_log (serialnumber, sync_type, status, error_message, synced_at)
    VALUES (%s, 'api_sync', 'error', %s, NOW())"""

SQL_LOG_SUCCESS = """
    INSERT INTO ic3_sync_log (serialnumber, sync_type, status, synced_at)
    VALUES (%s, 'api_sync', 'success', NOW())"""

SQL_LOG_BATCH = """
    INSERT INTO cmms_sync_log (sync_type, status, assets_synced, duration_ms)
    VALUES ('api_sync', 'complete', %s, %s)"""

# The sketch's own log tables; the rest is ic3sync's schema, so both loops write into tables
# defined and indexed alike.
SETUP_POSTGRESQL = (
    "DROP TABLE IF EXISTS cmms_sync_log CASCADE",  # and ic3sync's view ic3_sync_log on it
    "DROP VIEW IF EXISTS ic3_sync_log",
    "DROP TABLE IF EXISTS ic3_sync_log",
    """CREATE TABLE ic3_sync_log (id BIGSERIAL PRIMARY KEY, serialnumber TEXT, sync_type TEXT,
       status TEXT, error_message TEXT, synced_at TIMESTAMPTZ)""",
    """CREATE TABLE cmms_sync_log (id BIGSERIAL PRIMARY KEY, sync_type TEXT, status TEXT,
       assets_synced INTEGER, duration_ms BIGINT, created_at TIMESTAMPTZ DEFAULT NOW())""",
)
SETUP_SQLITE = (
    "DROP VIEW IF EXISTS ic3_sync_log",
    "DROP TABLE IF EXISTS cmms_sync_log",
    "DROP TABLE IF EXISTS ic3_sync_log",
    """CREATE TABLE ic3_sync_log (id INTEGER PRIMARY KEY, serialnumber TEXT, sync_type TEXT,
       status TEXT, error_message TEXT, synced_at TIMESTAMP)""",
    """CREATE TABLE cmms_sync_log (id INTEGER PRIMARY KEY, sync_type TEXT, status TEXT,
       assets_synced INTEGER, duration_ms INTEGER, created_at TIMESTAMP
       DEFAULT CURRENT_TIMESTAMP)""",
)


class DB:
    """pgx's way: exec and query_row in autocommit; begin and commit are round trips."""

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite:")
        self._sql: dict[str, str] = {}
        if self.sqlite:
            self.conn: Any = sqlite3.connect(
                url.split("sqlite:///", 1)[1], isolation_level=None, timeout=10
            )
            for pragma in ("foreign_keys=ON", "busy_timeout=10000", "journal_mode=WAL"):
                self.conn.execute(f"PRAGMA {pragma}")
            self.conn.execute("PRAGMA synchronous=NORMAL")
        else:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True, prepare_threshold=0)
        self.cur = self.conn.cursor()

    def q(self, sql: str) -> str:
        if not self.sqlite:
            return sql
        if (s := self._sql.get(sql)) is None:
            s = self._sql[sql] = sql.replace("%s", "?").replace("NOW()", "CURRENT_TIMESTAMP")
        return s

    def exec(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        self.cur.execute(self.q(sql), params)

    def query_row(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...]:
        self.cur.execute(self.q(sql), params)
        row = self.cur.fetchone()
        if row is None:
            raise LookupError("no rows in result set")
        return tuple(row)

    def query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self.cur.execute(self.q(sql), params)
        return list(self.cur.fetchall())

    def simple(self, sql: str) -> None:
        # pgx sends BEGIN and COMMIT as simple queries, never prepared.
        if self.sqlite:
            self.cur.execute(sql)
        else:
            self.cur.execute(sql, prepare=False)

    def rollback(self) -> None:
        try:
            self.simple("ROLLBACK")
        except Exception:
            pass

    def close(self) -> None:
        self.conn.close()


def null_int(v: int) -> int | None:
    return None if v == 0 else v


def null_str(s: str) -> str | None:
    return None if s == "" else s


def go_int(m: dict[str, Any], k: str) -> int:
    v = m.get(k)
    return 0 if v is None else int(v)


def go_str(m: dict[str, Any], k: str) -> str:
    v = m.get(k)
    return "" if v is None else v


def atoi(s: Any) -> int:
    try:
        return int(s, 10)
    except (TypeError, ValueError):
        return 0


def parse_float(s: Any) -> float:
    try:
        return float(s)
    except (TypeError, ValueError):
        return 0.0


class FetchError(Exception):
    pass


class Client:
    """http.Client{Timeout: 15 * time.Second}: one keep-alive connection, TCP_NODELAY."""

    def __init__(self, url: str, token: str, timeout: float = 15.0) -> None:
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname or "127.0.0.1", u.port or 80
        self.path = u.path + (("?" + u.query) if u.query else "")
        self.headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
        self.timeout = timeout
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            c = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            c.connect()
            c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.conn = c
        return self.conn

    def fetch(self, serialnumber: str) -> dict[str, Any]:
        body = json.dumps({"serialnumber": serialnumber}).encode()
        try:
            c = self._connection()
            c.request("POST", self.path, body=body, headers=self.headers)
            resp = c.getresponse()
            raw = resp.read()
            if resp.will_close:
                c.close()
                self.conn = None
        except (OSError, http.client.HTTPException) as exc:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
            raise FetchError(f"http: {exc}") from None
        if resp.status != 200:
            raise FetchError(f"API status {resp.status}")
        try:
            result = json.loads(raw)
        except ValueError as exc:
            raise FetchError(f"decode: {exc}") from None
        if not result.get("status") or result.get("response_code") != 200:
            raise FetchError("API returned status=false")
        return dict(result)


_WO_PERIODS = ("upto", "last_year")


def enrich_asset_from_api(db: DB, api: dict[str, Any]) -> None:
    r = api.get("response") or {}
    d = r.get("data") or {}
    p = r.get("performance") or {}
    wo = r.get("workorder_transactional") or {}
    serial = go_str(d, "serialnumber")

    # 1. ic3_building
    building_id = go_int(d, "building_id")
    if building_id > 0:
        db.exec(
            SQL_BUILDING,
            (building_id, null_int(go_int(d, "customer_id")), go_str(d, "building_name")),
        )
    # 2. ic3_floor_master
    floor_id = go_int(d, "floor_id")
    if floor_id > 0:
        db.exec(
            SQL_FLOOR,
            (
                floor_id,
                go_str(d, "floor_name"),
                null_int(go_int(d, "location_id")),
                null_int(go_int(d, "asset_floor_id")),
            ),
        )
    # 3. ic3_department_master
    department_id = go_int(d, "department_id")
    if department_id > 0:
        db.exec(
            SQL_DEPARTMENT,
            (
                department_id,
                go_str(d, "department_name"),
                null_int(floor_id),
                null_int(go_int(d, "location_id")),
                null_int(go_int(d, "asset_department_id")),
            ),
        )
    # 4. ic3_asset_master
    db.exec(
        SQL_UPDATE_MASTER,
        (
            go_int(d, "traceid"),
            null_str(go_str(d, "barcode")),
            null_str(go_str(d, "criticality")),
            null_str(go_str(d, "capacity_rating")),
            null_int(building_id),
            null_int(floor_id),
            null_int(department_id),
            null_int(go_int(d, "asset_building_id")),
            null_int(go_int(d, "asset_floor_id")),
            null_int(go_int(d, "asset_department_id")),
            null_int(go_int(d, "fk_customers_equipment_mapping_id")),
            null_int(go_int(d, "customers_locations_serialnumber_mapping_id")),
            null_int(go_int(d, "customer_traceability_id")),
            null_int(go_int(d, "customer_model_id")),
            null_int(go_int(d, "location_traceability_id")),
            null_int(go_int(d, "location_model_id")),
            null_str(go_str(d, "in_charge_person")),
            go_int(d, "ticketcount"),
            go_int(d, "schedulecount"),
            go_int(d, "schedule_configured"),
            go_int(d, "schedule_initiate"),
            go_int(d, "iot_device_mapped"),
            go_int(d, "status"),
            go_int(d, "asset_live_status"),
            go_int(d, "mapping_status"),
            go_int(d, "traceability_status"),
            go_int(d, "is_loaner"),
            go_int(d, "is_ble_tracking"),
            go_int(d, "is_rfid_tracking"),
            go_int(d, "is_qr_tracking"),
            go_int(d, "is_tracking_enabled"),
            serial,
        ),
    )
    # The asset_id for the child rows
    asset_id = db.query_row(SQL_SELECT_ASSET_ID, (serial,))[0]
    # 5. ic3_asset_performance
    db.exec(
        SQL_PERFORMANCE,
        (
            asset_id,
            serial,
            go_str(p, "equipments_name"),
            go_str(p, "equipment_model_name"),
            go_str(p, "criticality_type_label"),
            go_int(p, "total_ticket"),
            go_str(p, "mttr"),
            go_str(p, "mtbf"),
            go_str(p, "availability"),
            go_str(p, "total_ticket_breakdown_hrs"),
            go_str(p, "total_schedule_breakdown_hrs"),
            go_str(p, "asset_created_date"),
            go_str(p, "total_actual_hrs"),
        ),
    )
    # 6. ic3_workorder_summary: two rows (upto, last_year)
    for period in _WO_PERIODS:
        w = wo.get(period) or {}
        db.exec(
            SQL_WORKORDER,
            (
                asset_id,
                period,
                atoi(w.get("work_estimate_count")),
                parse_float(w.get("work_estimate_cost")),
                atoi(w.get("schedule_count")),
                parse_float(w.get("schedule_cost")),
                atoi(w.get("ticket_count")),
                parse_float(w.get("ticket_cost")),
            ),
        )


def sync_all_assets(db: DB, client: Client, rate_ms: float, batch: int = 0) -> dict[str, Any]:
    start = time.monotonic()
    result: dict[str, Any] = {"total": 0, "success": 0, "failed": 0, "errors": []}
    limit = 9999 if batch <= 0 else batch
    asset_ids = [row[0] for row in db.query(SQL_SELECT_IDS, (limit, 0))]
    result["total"] = len(asset_ids)
    for i, cmms_id in enumerate(asset_ids):
        if i > 0:
            time.sleep(rate_ms / 1000.0)
        try:
            api_resp = client.fetch(cmms_id)
        except FetchError as err:
            result["failed"] += 1
            result["errors"].append(f"{cmms_id}: {err}")
            try:
                db.exec(SQL_LOG_ERROR, (cmms_id, str(err)))
            except Exception:
                pass
            continue
        # Each asset its own transaction
        try:
            db.simple("BEGIN")
        except Exception:
            result["failed"] += 1
            continue
        try:
            enrich_asset_from_api(db, api_resp)
        except Exception as err:
            db.rollback()
            result["failed"] += 1
            result["errors"].append(f"{cmms_id}: enrich: {err}")
            try:
                db.exec(SQL_LOG_ERROR, (cmms_id, str(err)))
            except Exception:
                pass
            continue
        try:
            db.simple("COMMIT")  # the sketch ignores tx.Commit's error
        except Exception:
            pass
        result["success"] += 1
        try:
            db.exec(SQL_LOG_SUCCESS, (cmms_id,))
        except Exception:
            pass
    elapsed_ms = int((time.monotonic() - start) * 1000)
    try:
        db.exec(SQL_LOG_BATCH, (result["success"], elapsed_ms))
    except Exception:
        pass
    result["loop_s"] = time.monotonic() - start
    result["errors"] = result["errors"][:20]
    return result


def setup(url: str) -> None:
    db = DB(url)
    for statement in SETUP_SQLITE if db.sqlite else SETUP_POSTGRESQL:
        db.simple(statement)
    db.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="postgresql://... or sqlite:///path")
    ap.add_argument("--url", help="INNOMAINT_API_URL")
    ap.add_argument("--token", default="")
    ap.add_argument("--rate-ms", type=float, default=200)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--setup", action="store_true", help="make the sketch's own log tables")
    a = ap.parse_args()
    if a.setup:
        setup(a.db)
        return 0
    db = DB(a.db)
    result = sync_all_assets(db, Client(a.url, a.token), a.rate_ms, a.batch)
    db.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
