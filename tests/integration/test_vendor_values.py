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
        # ASCII JSON, as a PHP vendor writes it: a lone surrogate goes as its "\ud800" escape.
        body = json.dumps(payloads[serial]).encode()
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

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


def test_hostile_strings_are_stored_the_same_on_both_databases_and_named(
    engine: sa.Engine, fixture_bytes: bytes
) -> None:
    fixture = json.loads(fixture_bytes)
    payloads = {
        "Surrogate_01": _edited(fixture, "Surrogate_01", criticality="x\ud800y"),
        "Nul_02": _edited(fixture, "Nul_02", barcode="ab\u0000cd"),
        "Control_03": _edited(fixture, "Control_03", in_charge_person="JWIL\r\nFORGED\x1b[31m"),
        "Long_04": _edited(fixture, "Long_04", capacity_rating="k" * 5000),
    }
    seed_assets(engine, list(payloads))
    with client_for(URL, transport=_answering(payloads)) as client:
        result = run_sync(engine, client, trigger="cli")
    assert (result.status, result.success, result.failed) == ("completed", 4, 0), result.errors
    assert master(engine, "Surrogate_01")["criticality"] == "x\ufffdy"
    # PostgreSQL would cut "ab\0cd" to "ab", or refuse it: both databases keep all of it.
    assert master(engine, "Nul_02")["barcode"] == "ab\ufffdcd"
    assert master(engine, "Control_03")["in_charge_person"] == "JWIL  FORGED [31m"
    assert master(engine, "Long_04")["capacity_rating"] == "k" * 2000
    log = {r["cmms_asset_id"]: r["error_message"] for r in table_rows(engine, "cmms_sync_log")}
    assert log["Surrogate_01"] == "invalid Unicode replaced with U+FFFD in data.criticality"
    assert log["Nul_02"] == "NUL replaced with U+FFFD in data.barcode"
    assert log["Control_03"] is None
    assert log["Long_04"] == "cut to 2,000 characters: data.capacity_rating (5,000 characters)"


def test_a_huge_serialnumber_fails_its_asset_with_a_short_reason(
    engine: sa.Engine, fixture_bytes: bytes
) -> None:
    fixture = json.loads(fixture_bytes)
    huge = "S" * (4 * 1024 * 1024)
    payloads = {sid: _edited(fixture, huge) for sid in ("Huge_01", "Huge_02", "Huge_03")}
    for sid in payloads:
        payloads[sid]["response"]["data"]["serialnumber"] = huge
    seed_assets(engine, list(payloads))
    with client_for(URL, transport=_answering(payloads)) as client:
        result = run_sync(engine, client, trigger="cli")
    assert (result.status, result.failed) == ("completed", 3), result
    messages = [r["error_message"] for r in table_rows(engine, "cmms_sync_log")]
    assert all(m.startswith("API answered for serialnumber 'SSS") for m in messages), messages
    # Each reason about 180 characters, not 4 MiB: the database, the run page and every notice
    # that quotes it stay small.
    assert max(len(m) for m in messages) < 300
    assert all(len(line) < 350 for line in result.errors)
