"""The customer's sketch of the sync (spec: SyncAllAssetsFromInnomaint + EnrichAssetFromAPI) as
Python, kept only as the benchmark's baseline: the same statements, each its own round trip,
a sleep of R between assets, no retries. It is not the product and nothing imports it but
bench/run.py.

Where the sketch writes to `ic3_sync_log` (a view here) it writes the same row to
`cmms_sync_log`, the table behind that view, under a run row made for the purpose.
"""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

UPSERT_BUILDING = """
    INSERT INTO ic3_building (building_id, customer_id, building_name, created_at, updated_at)
    VALUES (%s, %s, %s, NOW(), NOW())
    ON CONFLICT (building_id) DO UPDATE SET
        building_name = EXCLUDED.building_name,
        updated_at    = NOW()"""

UPSERT_FLOOR = """
    INSERT INTO ic3_floor_master
        (floor_id, floor_name, location_id, asset_floor_id, created_at, updated_at)
    VALUES (%s, %s, %s, %s, NOW(), NOW())
    ON CONFLICT (floor_id) DO UPDATE SET
        floor_name    = EXCLUDED.floor_name,
        updated_at    = NOW()"""

UPSERT_DEPARTMENT = """
    INSERT INTO ic3_department_master (department_id, department_name, floor_id, location_id,
        asset_department_id, created_at, updated_at)
    VALUES (%s, %s, %s, %s, %s, NOW(), NOW())
    ON CONFLICT (department_id) DO UPDATE SET
        department_name    = EXCLUDED.department_name,
        updated_at         = NOW()"""

_MASTER_INT_FIELDS = (
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
)
_MASTER_COUNT_FIELDS = (
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
_MASTER_SET = ",\n".join(
    f"{name} = %s"
    for name in (
        "traceability_id",
        "barcode",
        "criticality",
        "capacity_rating",
        *_MASTER_INT_FIELDS,
        "in_charge_person",
        *_MASTER_COUNT_FIELDS,
    )
)
UPDATE_MASTER = f"""
    UPDATE ic3_asset_master SET
        {_MASTER_SET},
        last_synced_at = NOW(),
        sync_version   = COALESCE(sync_version, 0) + 1,
        updated_at     = NOW()
    WHERE cmms_asset_id = %s"""

SELECT_ASSET_ID = "SELECT asset_id FROM ic3_asset_master WHERE cmms_asset_id = %s"

UPSERT_PERFORMANCE = """
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

UPSERT_WORKORDER = """
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

INSERT_LOG = """
    INSERT INTO cmms_sync_log (run_id, cmms_asset_id, status, error_message, synced_at)
    VALUES (%s, %s, %s, %s, NOW())"""


@dataclass
class SeedResult:
    total: int = 0
    success: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    duration_ms: int = 0


def _null_int(v: Any) -> int | None:
    return v if isinstance(v, int) and v > 0 else None


def _null_str(v: Any) -> str | None:
    return v if isinstance(v, str) and v else None


def _int(v: Any) -> int:
    # Go's json into an int field: a missing value is 0.
    return v if isinstance(v, int) else 0


def _atoi(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0  # strconv.Atoi's error is dropped in the sketch


def _atof(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


def _fetch(client: httpx.Client, url: str, serialnumber: str) -> dict[str, Any]:
    response = client.post(url, content=json.dumps({"serialnumber": serialnumber}).encode())
    if response.status_code != 200:
        raise RuntimeError(f"API status {response.status_code}")
    result = json.loads(response.content)
    if result.get("status") is not True or result.get("response_code") != 200:
        raise RuntimeError("API returned status=false")
    return result


def _enrich(cur: psycopg.Cursor[Any], api: dict[str, Any]) -> None:
    body = api["response"]
    d, p, wo = body["data"], body.get("performance") or {}, body["workorder_transactional"]
    if _int(d.get("building_id")) > 0:
        cur.execute(
            UPSERT_BUILDING,
            (d["building_id"], _null_int(d.get("customer_id")), d.get("building_name", "")),
        )
    if _int(d.get("floor_id")) > 0:
        cur.execute(
            UPSERT_FLOOR,
            (
                d["floor_id"],
                d.get("floor_name", ""),
                _null_int(d.get("location_id")),
                _null_int(d.get("asset_floor_id")),
            ),
        )
    if _int(d.get("department_id")) > 0:
        cur.execute(
            UPSERT_DEPARTMENT,
            (
                d["department_id"],
                d.get("department_name", ""),
                _null_int(d.get("floor_id")),
                _null_int(d.get("location_id")),
                _null_int(d.get("asset_department_id")),
            ),
        )
    cur.execute(
        UPDATE_MASTER,
        (
            _int(d.get("traceid")),
            _null_str(d.get("barcode")),
            _null_str(d.get("criticality")),
            _null_str(d.get("capacity_rating")),
            *(_null_int(d.get(name)) for name in _MASTER_INT_FIELDS),
            _null_str(d.get("in_charge_person")),
            *(_int(d.get(name)) for name in _MASTER_COUNT_FIELDS),
            d["serialnumber"],
        ),
    )
    cur.execute(SELECT_ASSET_ID, (d["serialnumber"],))
    row = cur.fetchone()
    if row is None:
        raise RuntimeError("get asset_id: no rows in result set")
    asset_id = row[0]
    cur.execute(
        UPSERT_PERFORMANCE,
        (
            asset_id,
            d["serialnumber"],
            p.get("equipments_name", ""),
            p.get("equipment_model_name", ""),
            p.get("criticality_type_label", ""),
            _int(p.get("total_ticket")),
            p.get("mttr", ""),
            p.get("mtbf", ""),
            p.get("availability", ""),
            p.get("total_ticket_breakdown_hrs", ""),
            p.get("total_schedule_breakdown_hrs", ""),
            p.get("asset_created_date", ""),
            p.get("total_actual_hrs", ""),
        ),
    )
    for period_type in ("upto", "last_year"):
        w = wo.get(period_type) or {}
        cur.execute(
            UPSERT_WORKORDER,
            (
                asset_id,
                period_type,
                _atoi(w.get("work_estimate_count")),
                _atof(w.get("work_estimate_cost")),
                _atoi(w.get("schedule_count")),
                _atof(w.get("schedule_cost")),
                _atoi(w.get("ticket_count")),
                _atof(w.get("ticket_cost")),
            ),
        )


def run_seed_loop(
    dsn: str,
    url: str,
    token: str,
    *,
    rate_ms: int,
    batch: int | None = None,
    offset: int = 0,
) -> SeedResult:
    """The sketch's SyncAllAssetsFromInnomaint: sleep, fetch, BEGIN, statements, COMMIT, log."""
    start = time.monotonic()
    result = SeedResult()
    with psycopg.connect(dsn, autocommit=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                """SELECT cmms_asset_id FROM ic3_asset_master
                   WHERE cmms_asset_id IS NOT NULL
                   ORDER BY report_seq_no ASC NULLS LAST
                   LIMIT %s OFFSET %s""",
                (batch if batch and batch > 0 else 9999999, offset),
            )
        ]
        run_id = conn.execute(
            """INSERT INTO cmms_sync_run (trigger, status, started_at)
               VALUES ('cli', 'running', NOW()) RETURNING run_id"""
        ).fetchone()[0]  # type: ignore[index]
        result.total = len(ids)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        # Go's net/http sets TCP_NODELAY on every connection, as our client does.
        transport = httpx.HTTPTransport(
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
        )
        with httpx.Client(timeout=15.0, headers=headers, transport=transport) as client:
            for i, cmms_id in enumerate(ids):
                if i > 0:
                    time.sleep(rate_ms / 1000.0)
                try:
                    api = _fetch(client, url, cmms_id)
                except (httpx.HTTPError, RuntimeError, ValueError) as exc:
                    result.failed += 1
                    result.errors.append(f"{cmms_id}: {exc}")
                    conn.execute(INSERT_LOG, (run_id, cmms_id, "failed", str(exc)))
                    continue
                try:
                    with conn.transaction(), conn.cursor() as cur:
                        _enrich(cur, api)
                except (psycopg.Error, RuntimeError, KeyError) as exc:
                    result.failed += 1
                    result.errors.append(f"{cmms_id}: enrich: {exc}")
                    conn.execute(INSERT_LOG, (run_id, cmms_id, "failed", str(exc)))
                    continue
                result.success += 1
                conn.execute(INSERT_LOG, (run_id, cmms_id, "success", None))
        result.duration_ms = int((time.monotonic() - start) * 1000)
        conn.execute(
            """UPDATE cmms_sync_run SET status = 'completed', success = %s, failed = %s,
               total = %s, finished_at = NOW(), duration_ms = %s WHERE run_id = %s""",
            (result.success, result.failed, result.total, result.duration_ms, run_id),
        )
    return result
