"""Rule 4 on every table an answer writes, not only ic3_asset_master: after a full answer, an
answer whose values are empty keeps what the performance, work-order and reference rows hold.
On SQLite and PostgreSQL, through the real client."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.sync import SyncResult, run_sync
from tests.helpers import TOKEN, client_for, master, seed_assets, table_rows

ASSET = "Plant 03_PUMP_07"
# What a sync stamps on every write, whatever the answer held.
STAMPS = {"created_at", "updated_at", "recorded_at", "last_synced_at", "sync_version"}
DIMENSIONS = {
    "ic3_building": "building_id",
    "ic3_floor_master": "floor_id",
    "ic3_department_master": "department_id",
}


def _blank(section: dict[str, Any], keep: Iterable[str] = ()) -> None:
    """Every value but `keep` empty, half of them "" and half null: both mean "not sent"."""
    kept = set(keep)
    for index, key in enumerate(list(section)):
        if key not in kept:
            section[key] = "" if index % 2 == 0 else None


def blank_answer(serialnumber: str) -> dict[str, Any]:
    """The asset's answer with the keys of its rows still there and every other value empty:
    each reference row, the performance row and both work-order periods are written again."""
    payload = asset_payload(serialnumber)
    body = payload["response"]
    _blank(
        body["data"],
        keep={"id", "traceid", "serialnumber", "building_id", "floor_id", "department_id"},
    )
    _blank(body["performance"])
    for period in body["workorder_transactional"].values():
        _blank(period)
    return payload


def stored(engine: sa.Engine, asset_id: int, building_ids: dict[str, Any]) -> dict[str, Any]:
    """The values an answer may change, without the stamps every sync moves."""

    def values(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in STAMPS} for r in rows]

    return {
        "performance": values(
            [r for r in table_rows(engine, "ic3_asset_performance") if r["asset_id"] == asset_id]
        ),
        "workorders": values(
            [
                r
                for r in table_rows(engine, "ic3_workorder_summary", "period_type")
                if r["asset_id"] == asset_id
            ]
        ),
        **{
            name: values([r for r in table_rows(engine, name) if r[key] == building_ids[name]])
            for name, key in DIMENSIONS.items()
        },
    }


def first_full_sync(engine: sa.Engine) -> dict[str, Any]:
    """Sync ASSET from the simulator's full answer; what it stored, checked to be filled in."""
    seed_assets(engine, [ASSET])
    with Simulator(SimulatorConfig(token=TOKEN)) as sim, client_for(sim.url) as client:
        assert run_sync(engine, client, trigger="cli").success == 1
    row = master(engine, ASSET)
    keys = {name: row[key] for name, key in DIMENSIONS.items()}
    before = stored(engine, row["asset_id"], keys)
    # The full answer filled every value the second answer leaves empty; a test of "empty keeps
    # what was stored" on NULLs would pass whatever the upsert did.
    [perf] = before["performance"]
    assert all(v is not None for v in perf.values()), perf
    assert len(before["workorders"]) == 2
    assert all(v is not None for r in before["workorders"] for v in r.values())
    for name in DIMENSIONS:
        [dimension] = before[name]
        assert all(v is not None for v in dimension.values()), (name, dimension)
    return {"asset_id": row["asset_id"], "keys": keys, "rows": before, "master": row}


def assert_success_with_stamps_moved(engine: sa.Engine, result: SyncResult, first: dict) -> None:
    assert (result.success, result.failed) == (1, 0), result.errors
    row = master(engine, ASSET)
    assert row["sync_version"] == 2
    # The rows were written again (not skipped), so what they kept, they kept on purpose.
    [perf] = table_rows(engine, "ic3_asset_performance")
    assert perf["recorded_at"] == row["last_synced_at"] != first["master"]["last_synced_at"]
    orders = table_rows(engine, "ic3_workorder_summary")
    assert {r["updated_at"] for r in orders} == {row["last_synced_at"]}


def test_an_empty_fields_answer_keeps_the_performance_and_work_order_values(engine):
    first = first_full_sync(engine)
    faults = {ASSET: "empty_fields"}
    with Simulator(SimulatorConfig(token=TOKEN, faults=faults)) as sim, client_for(sim.url) as c:
        result = run_sync(engine, c, trigger="cli")
    assert_success_with_stamps_moved(engine, result, first)
    assert stored(engine, first["asset_id"], first["keys"]) == first["rows"]


def test_an_answer_with_only_its_keys_keeps_every_stored_value_of_every_table(engine):
    first = first_full_sync(engine)
    body = json.dumps(blank_answer(ASSET)).encode()

    def vendor(request: httpx.Request) -> httpx.Response:
        assert json.loads(request.content) == {"serialnumber": ASSET}
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    url = "http://innomaint.invalid/getAssetIDDetailByAssetID"
    with client_for(url, transport=httpx.MockTransport(vendor)) as client:
        result = run_sync(engine, client, trigger="cli")
    assert_success_with_stamps_moved(engine, result, first)
    after = stored(engine, first["asset_id"], first["keys"])
    for name in ("performance", "workorders", *DIMENSIONS):
        assert after[name] == first["rows"][name], name
    row = master(engine, ASSET)
    for column, value in first["master"].items():
        if column not in STAMPS:
            assert row[column] == value, column


@pytest.mark.parametrize("section", ["performance", "upto", "last_year"])
def test_a_non_empty_value_in_a_child_table_still_overrides(engine, section):
    """The other half of rule 4: the test above must not pass for a write that changes nothing."""
    first = first_full_sync(engine)
    payload = blank_answer(ASSET)
    body_section = (
        payload["response"]["performance"]
        if section == "performance"
        else payload["response"]["workorder_transactional"][section]
    )
    column = "mttr" if section == "performance" else "ticket_count"
    body_section[column] = "12:00:00" if section == "performance" else "4242"
    body = json.dumps(payload).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with client_for("http://innomaint.invalid/x", transport=transport) as client:
        assert run_sync(engine, client, trigger="cli").success == 1
    after = stored(engine, first["asset_id"], first["keys"])
    if section == "performance":
        [perf] = after["performance"]
        assert (perf["mttr"], perf["mttr_seconds"]) == ("12:00:00", 43_200)
        [before] = first["rows"]["performance"]
        assert perf["mtbf"] == before["mtbf"]
    else:
        rows = {r["period_type"]: r for r in after["workorders"]}
        assert rows[section]["ticket_count"] == 4242
        other = "upto" if section == "last_year" else "last_year"
        before = {r["period_type"]: r for r in first["rows"]["workorders"]}
        assert rows[other] == before[other]
        assert rows[section]["ticket_cost"] == before[section]["ticket_cost"]


def test_work_order_periods_written_in_one_statement_each_keep_their_own_values(engine):
    # Both periods with the same fields go in one statement, a period each otherwise: in both
    # cases each period's row holds that period's values, never the other's.
    first = first_full_sync(engine)
    payload = asset_payload(ASSET)
    periods = payload["response"]["workorder_transactional"]
    rows = {r["period_type"]: r for r in first["rows"]["workorders"]}
    for period_type, period in periods.items():
        assert rows[period_type]["ticket_count"] == int(period["ticket_count"])
    periods["upto"]["ticket_count"], periods["last_year"]["ticket_count"] = "111", "222"
    periods["upto"]["ticket_cost"], periods["last_year"]["ticket_cost"] = "1.50", "-2.25"
    body = json.dumps(payload).encode()
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=body))
    with client_for("http://innomaint.invalid/x", transport=transport) as client:
        assert run_sync(engine, client, trigger="cli").success == 1
    after = {
        r["period_type"]: r for r in stored(engine, first["asset_id"], first["keys"])["workorders"]
    }
    assert (after["upto"]["ticket_count"], after["last_year"]["ticket_count"]) == (111, 222)
    assert (str(after["upto"]["ticket_cost"]), str(after["last_year"]["ticket_cost"])) == (
        "1.50",
        "-2.25",
    )
    for column in ("schedule_count", "work_estimate_cost"):
        assert after["upto"][column] == rows["upto"][column], column
        assert after["last_year"][column] == rows["last_year"][column], column
