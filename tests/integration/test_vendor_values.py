"""What the vendor's odd values become in the database, on SQLite and PostgreSQL (contract rules
10 and 11): times with an offset are the instant, zone-less ones read in INNOMAINT_TIMEZONE,
out-of-domain values NULL and named in the log row."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import sqlalchemy as sa

from ic3sync.sync import run_sync
from tests.helpers import client_for, master, seed_assets, table_rows

ASSET = "Delhi Cantt Naraina_BP_01"
URL = "http://vendor.test/api/getAssetIDDetailByAssetID"
INSTANT = datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)


def _answering(payloads: dict[str, dict[str, Any]]) -> httpx.MockTransport:
    """The vendor answering each asset with its payload (the real fixture, edited)."""

    def handle(request: httpx.Request) -> httpx.Response:
        serial = json.loads(request.content)["serialnumber"]
        return httpx.Response(200, json=payloads[serial])

    return httpx.MockTransport(handle)


def _edited(fixture: dict[str, Any], serial: str, **data: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(fixture))
    body["response"]["data"].update(serialnumber=serial, **data)
    return body


def _instant(value: datetime) -> datetime:
    # SQLite hands timestamps back without a zone; they are written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_vendor_times_are_stored_as_instants_and_odd_values_named(
    engine: sa.Engine, fixture_bytes: bytes
) -> None:
    fixture = json.loads(fixture_bytes)
    ids = ["Offset_01", "Naive_02", "Odd_03"]
    payloads = {
        "Offset_01": _edited(
            fixture, "Offset_01", traceability_updated_on="2026-03-19 09:51:46+05:30"
        ),
        "Naive_02": _edited(fixture, "Naive_02", traceability_updated_on="2026-03-19 09:51:46"),
        "Odd_03": _edited(fixture, "Odd_03", id=577834, ticketcount=-5),
    }
    payloads["Odd_03"]["response"]["performance"]["availability"] = "104.5"
    seed_assets(engine, ids)
    with client_for(URL, transport=_answering(payloads)) as client:
        result = run_sync(engine, client, trigger="cli", vendor_zone=ZoneInfo("Asia/Kolkata"))
    assert (result.success, result.failed) == (3, 0), result.errors

    assert _instant(master(engine, "Offset_01")["traceability_updated_on"]) == INSTANT
    assert _instant(master(engine, "Naive_02")["traceability_updated_on"]) == INSTANT
    odd = master(engine, "Odd_03")
    assert odd["ticketcount"] is None and odd["traceability_id"] == 577833
    performance = {r["serialnumber"]: r for r in table_rows(engine, "ic3_asset_performance")}
    assert performance["Odd_03"]["availability_pct"] is None
    log = {r["cmms_asset_id"]: r for r in table_rows(engine, "cmms_sync_log")}
    note = log["Odd_03"]["error_message"]
    assert log["Odd_03"]["status"] == "success"
    assert "data.ticketcount: -5 is a negative count" in note
    assert "performance.availability: '104.5' is outside 0-100" in note
    assert "data.id 577834 differs from traceid 577833" in note
    assert log["Offset_01"]["error_message"] is None
