"""The real simulator on a free port, driven by the real InnomaintClient over loopback HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ic3sync.errors import ConfigError, VendorAuthError, VendorRejected, VendorTransient
from ic3sync.innomaint.client import InnomaintClient
from ic3sync.innomaint.simulator import (
    BUILDING_COUNT,
    ENDPOINT_PATH,
    RANDOM_MIX,
    TRANSIENT_KINDS,
    Simulator,
    SimulatorConfig,
    asset_payload,
    load_faults,
)

TOKEN = "sim-token-8d2f61c0"
ASSET = "Plant 07_PUMP_03"
FIXTURE_ID = "Delhi Cantt Naraina_BP_01"
FIXTURE = json.loads(
    (
        Path(__file__).resolve().parents[1] / "fixtures/asset_detail_Delhi_Cantt_Naraina_BP_01.json"
    ).read_text()
)
# The server stamps a request when it arrives (the kernel's stamp), the client just before it
# sends: the first request of a connection also pays the TCP handshake, and a busy machine may
# let the client's send lag its stamp, so gaps seen by the server can be shorter than the client's.
CLOCK_SLACK_MS = 15

# Every field of the spec's Go structs: InnomaintAssetData, InnomaintPerformance, InnomaintWOPeriod.
DATA_FIELDS = {
    "id", "traceid", "serialnumber", "barcode", "criticality", "capacity_rating", "customer_id",
    "customer_name", "location_id", "location_name", "building_id", "building_name", "floor_id",
    "floor_name", "department_id", "department_name", "asset_floor_id", "asset_building_id",
    "asset_department_id", "fk_customers_equipment_mapping_id",
    "customers_locations_serialnumber_mapping_id", "customer_traceability_id",
    "customer_model_id", "location_traceability_id", "location_model_id", "in_charge_person",
    "ticketcount", "schedulecount", "schedule_configured", "schedule_initiate",
    "iot_device_mapped", "status", "asset_live_status", "mapping_status", "traceability_status",
    "traceability_updated_on", "installation_date", "year_of_manufacturing", "is_loaner",
    "is_ble_tracking", "is_rfid_tracking", "is_qr_tracking", "is_tracking_enabled",
}  # fmt: skip
PERFORMANCE_FIELDS = {
    "equipments_name", "equipment_model_name", "criticality_type_label", "total_ticket", "mttr",
    "mtbf", "availability", "total_ticket_breakdown_hrs", "total_schedule_breakdown_hrs",
    "asset_created_date", "total_actual_hrs",
}  # fmt: skip
PERIOD_FIELDS = {
    "work_estimate_count", "work_estimate_cost", "schedule_count", "schedule_cost",
    "ticket_count", "ticket_cost",
}  # fmt: skip
DURATION = re.compile(r"^(0|\d{2,}:[0-5]\d:[0-5]\d)$")

StartSimulator = Callable[..., Simulator]


@pytest.fixture
def start_simulator() -> Iterator[StartSimulator]:
    started: list[Simulator] = []

    def start(**config: Any) -> Simulator:
        sim = Simulator(SimulatorConfig(token=TOKEN, **config)).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@contextmanager
def client(sim: Simulator, **options: Any) -> Iterator[InnomaintClient]:
    settings: dict[str, Any] = {
        "url": sim.url,
        "token": SecretStr(TOKEN),
        "rate_ms": 0,
        "backoff_base_s": 0,
        "timeout_s": 5,
    }
    settings.update(options)
    with InnomaintClient(**settings) as c:
        yield c


def raw_post(sim: Simulator, body: Any, token: str = TOKEN) -> httpx.Response:
    return httpx.post(sim.url, json=body, headers={"Authorization": f"Bearer {token}"})


def data_of(c: InnomaintClient, serialnumber: str) -> dict[str, Any]:
    fetched = c.fetch(serialnumber)
    return fetched.response.model_dump()["response"]["data"]


# -- the payload --------------------------------------------------------------------------------


def test_the_fixture_id_gets_the_real_innomaint_answer(start_simulator: StartSimulator) -> None:
    sim = start_simulator()
    assert raw_post(sim, {"serialnumber": FIXTURE_ID}).json() == FIXTURE
    with client(sim) as c:
        assert c.fetch(FIXTURE_ID).response.response.data.value("traceid") == 577833


def test_the_answer_is_deterministic_and_is_asset_payload(start_simulator: StartSimulator) -> None:
    sim = start_simulator()
    first = raw_post(sim, {"serialnumber": ASSET}).json()
    assert raw_post(sim, {"serialnumber": ASSET}).json() == first == asset_payload(ASSET)
    assert first["response"]["data"]["serialnumber"] == ASSET
    assert asset_payload("Plant 07_PUMP_04") != first


def test_a_payload_has_every_field_of_the_spec_in_the_apis_formats() -> None:
    payload = asset_payload(ASSET)
    assert (payload["status"], payload["response_code"]) == (True, 200)
    body = payload["response"]
    assert set(body["data"]) == DATA_FIELDS
    assert set(body["performance"]) == PERFORMANCE_FIELDS
    assert set(body["workorder_transactional"]) == {"upto", "last_year"}
    for period in body["workorder_transactional"].values():
        assert set(period) == PERIOD_FIELDS
        assert all(isinstance(value, str) for value in period.values())
    perf = body["performance"]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", perf["asset_created_date"])
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+00", body["data"]["traceability_updated_on"]
    )


def test_many_assets_share_a_small_pool_of_consistent_dimension_rows() -> None:
    datas = [asset_payload(f"Site {n}_PUMP_{n:03d}")["response"] for n in range(600)]
    buildings: dict[int, str] = {}
    floors: dict[int, tuple[str, int]] = {}
    for body in datas:
        d = body["data"]
        assert buildings.setdefault(d["building_id"], d["building_name"]) == d["building_name"]
        floor = (d["floor_name"], d["location_id"])
        assert floors.setdefault(d["floor_id"], floor) == floor
        assert DURATION.match(body["performance"]["mtbf"])
        assert DURATION.match(body["performance"]["mttr"])
    assert 20 < len(buildings) <= BUILDING_COUNT
    mtbf_hours = [int(b["performance"]["mtbf"].split(":")[0]) for b in datas]
    assert max(mtbf_hours) > 24  # durations beyond a day, as the real API sends
    assert "0" in {b["performance"]["total_schedule_breakdown_hrs"] for b in datas}


# -- requests the simulator refuses -------------------------------------------------------------


def test_a_wrong_token_gets_401_and_the_client_raises_an_auth_error(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator()
    assert raw_post(sim, {"serialnumber": ASSET}, token="wrong").status_code == 401
    with client(sim, token=SecretStr("wrong")) as c, pytest.raises(VendorAuthError) as caught:
        c.fetch(ASSET)
    assert (caught.value.http_status, caught.value.attempts) == (401, 1)
    assert sim.stats()["faults"] == {"wrong_token": 2}


@pytest.mark.parametrize("body", [{}, {"serial": ASSET}, {"serialnumber": ""}, [ASSET]])
def test_a_body_without_a_serialnumber_gets_400(
    start_simulator: StartSimulator, body: object
) -> None:
    response = raw_post(start_simulator(), body)
    assert response.status_code == 400
    assert "serialnumber" in response.json()["message"]


def test_only_the_endpoint_and_the_control_paths_answer(start_simulator: StartSimulator) -> None:
    sim = start_simulator()
    headers = {"Authorization": f"Bearer {TOKEN}"}
    other = httpx.post(f"{sim.base_url}/anything", json={"serialnumber": ASSET}, headers=headers)
    near = httpx.post(sim.url + "s", json={"serialnumber": ASSET}, headers=headers)
    assert (other.status_code, near.status_code) == (404, 404)
    assert other.json()["status"] is False and ENDPOINT_PATH in other.json()["message"]
    assert httpx.get(f"{sim.base_url}/anything").status_code == 404
    assert httpx.get(sim.url, headers=headers).status_code == 405
    assert httpx.get(f"{sim.base_url}/__stats").status_code == 200
    assert raw_post(sim, {"serialnumber": ASSET}).json() == asset_payload(ASSET)
    assert sim.url == sim.base_url + ENDPOINT_PATH


def test_a_wrong_api_url_fails_a_rehearsal(start_simulator: StartSimulator) -> None:
    sim = start_simulator()
    wrong = sim.base_url + "/api/public/getAssetIDDetailByAssetID"
    with client(sim, url=wrong) as c, pytest.raises(VendorRejected) as caught:
        c.fetch(ASSET)
    assert caught.value.http_status == 404


DIMENSIONS = {
    "building_id": ("customer_id", "building_name"),
    "floor_id": ("floor_name", "location_id", "asset_floor_id"),
    "department_id": ("department_name", "floor_id", "location_id", "asset_department_id"),
}


def test_each_building_floor_and_department_id_has_one_set_of_values_fixture_included() -> None:
    ids = [FIXTURE_ID, *(f"Zone {n % 97}_ASSET_{n:05d}" for n in range(4000))]
    seen: dict[tuple[str, object], tuple[object, ...]] = {}
    for serialnumber in ids:
        data = asset_payload(serialnumber)["response"]["data"]
        for key, columns in DIMENSIONS.items():
            values = tuple(data[c] for c in columns)
            assert seen.setdefault((key, data[key]), values) == values, (key, data[key])
    assert len({k for k in seen if k[0] == "building_id"}) == BUILDING_COUNT + 1


def _answers(sim: Simulator, ids: list[str]) -> dict[str, dict[str, Any]]:
    return {i: raw_post(sim, {"serialnumber": i}).json()["response"]["data"] for i in ids}


DRIFTING = ("criticality", "in_charge_person", "ticketcount", "schedulecount")


def test_drift_changes_k_assets_on_each_pass_the_same_way_for_the_same_seed() -> None:
    ids = [f"Drift_{n:02d}" for n in range(12)]
    changed_runs = []
    for _ in range(2):
        with Simulator(SimulatorConfig(token=TOKEN, seed=7), drift=3) as sim:
            first = _answers(sim, ids)
            second = _answers(sim, ids)
            third = _answers(sim, ids)
        assert first == {i: asset_payload(i)["response"]["data"] for i in ids}
        changed = sorted(i for i in ids if second[i] != first[i])
        assert len(changed) == 3
        for i in changed:
            assert all(second[i][field] != first[i][field] for field in DRIFTING), i
        assert second[changed[0]]["ticketcount"] == first[changed[0]]["ticketcount"] + 1
        assert {i for i in ids if third[i] != second[i]}, "the third pass changed nothing"
        changed_runs.append(changed)
    assert changed_runs[0] == changed_runs[1]
    with Simulator(SimulatorConfig(token=TOKEN, seed=8), drift=3) as other:
        _answers(other, ids)
        again = _answers(other, ids)
    assert sorted(i for i in ids if again[i] != first[i]) != changed_runs[0]


def test_post_sim_drift_changes_assets_on_demand(start_simulator: StartSimulator) -> None:
    sim = start_simulator(seed=3)
    ids = [f"Drift_{n:02d}" for n in range(6)]
    before = _answers(sim, ids)

    answer = httpx.post(f"{sim.base_url}/__sim/drift", json={"count": 2}).json()
    after = {i: raw_post(sim, {"serialnumber": i}).json()["response"]["data"] for i in ids}

    assert answer["status"] is True and len(answer["drifted"]) == 2
    assert sorted(i for i in ids if after[i] != before[i]) == answer["drifted"]


# -- fault kinds --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "error", "status", "reason"),
    [
        ("not_found", VendorRejected, 404, "HTTP 404 Not Found: Asset not found"),
        ("bad_request", VendorRejected, 400, "HTTP 400 Bad Request: Invalid serialnumber"),
        ("status_false", VendorRejected, 200, 'API answered "status": false'),
        ("non_json", VendorRejected, 200, "response is not JSON"),
        ("unauthorized", VendorAuthError, 401, "Innomaint rejected the API token (HTTP 401)"),
    ],
)
def test_permanent_faults_fail_at_once_with_their_reason(
    start_simulator: StartSimulator, kind: str, error: type, status: int, reason: str
) -> None:
    sim = start_simulator(faults={ASSET: kind})
    with client(sim) as c, pytest.raises(error) as caught:
        c.fetch(ASSET)
    assert caught.value.reason.startswith(reason)
    assert (caught.value.http_status, caught.value.attempts) == (status, 1)
    assert sim.stats()["per_id"] == {ASSET: 1}
    assert sim.stats()["faults"] == {kind: 1}


@pytest.mark.parametrize(
    "fault",
    [
        "unavailable",
        "bad_gateway",
        "gateway_timeout",
        {"kind": "rate_limited", "retry_after": 0},
        "reset",
        {"kind": "timeout", "ms": 1000},
    ],
    ids=lambda f: f if isinstance(f, str) else f["kind"],
)
def test_a_transient_fault_served_once_succeeds_on_the_retry(
    start_simulator: StartSimulator, fault: str | dict[str, Any]
) -> None:
    kind = fault if isinstance(fault, str) else fault["kind"]
    sim = start_simulator(faults={ASSET: fault})
    with client(sim, timeout_s=0.25) as c:
        fetched = c.fetch(ASSET)
        assert c.retries == 1
    assert (fetched.attempts, fetched.http_status) == (2, 200)
    assert fetched.response.response.data.value("serialnumber") == ASSET
    assert sim.stats()["per_id"] == {ASSET: 2}
    assert sim.stats()["faults"] == {kind: 1}


def test_a_503_served_more_often_than_the_retries_fails_after_every_attempt(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={ASSET: {"kind": "unavailable", "times": 5}})
    with client(sim, max_retries=2) as c, pytest.raises(VendorTransient) as caught:
        c.fetch(ASSET)
    assert caught.value.reason == "HTTP 503 Service Unavailable after 3 attempts"
    with client(sim, max_retries=2) as c:  # two faults left: the third attempt gets through
        assert c.fetch(ASSET).attempts == 3


def test_retry_after_from_the_simulator_is_honoured(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: {"kind": "rate_limited", "retry_after": 1}})
    started = time.monotonic()
    with client(sim) as c:
        assert c.fetch(ASSET).attempts == 2
    assert time.monotonic() - started >= 1.0


def test_other_serial_answers_about_another_asset(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: "other_serial"})
    with client(sim) as c:
        data = data_of(c, ASSET)
    assert data["serialnumber"] not in ("", None, ASSET)


def test_empty_fields_blanks_most_values(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: "empty_fields"})
    with client(sim) as c:
        fetched = c.fetch(ASSET).response.model_dump()["response"]
    data = fetched["data"]
    assert data["serialnumber"] == ASSET
    blank = [k for k, v in data.items() if v in ("", None)]
    assert len(blank) >= len(DATA_FIELDS) - 3
    assert {"", None} >= set(fetched["performance"].values())
    assert {"", None} >= set(fetched["workorder_transactional"]["upto"].values())


def test_string_numbers_sends_every_number_as_a_string(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: "string_numbers"})
    with client(sim) as c:
        data = data_of(c, ASSET)
    expected = asset_payload(ASSET)["response"]["data"]
    assert data["traceid"] == str(expected["traceid"])
    assert data["building_id"] == str(expected["building_id"])
    assert not any(isinstance(v, int | float) and not isinstance(v, bool) for v in data.values())


def test_bad_numbers_sends_unparseable_counts_durations_and_availability(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={ASSET: "bad_numbers"})
    with client(sim) as c:
        body = c.fetch(ASSET).response.model_dump()["response"]
    assert body["data"]["ticketcount"] == "abc"
    assert body["performance"]["mtbf"] == "x:y"
    assert body["performance"]["availability"] == "n/a"
    assert body["workorder_transactional"]["last_year"]["ticket_count"] == "abc"


def test_slow_and_latency_delay_the_answer(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: {"kind": "slow", "ms": 600}}, latency_ms=40)
    with client(sim) as c:
        assert c.fetch(ASSET).http_ms >= 640
        # Another asset is not slowed: the bound is far below 640 ms, far above a busy 40.
        assert 40 <= c.fetch("Plant 01_PUMP_01").http_ms < 400


def test_a_timeout_longer_than_the_retries_fails_as_transient(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={ASSET: {"kind": "timeout", "ms": 2000, "times": 5}})
    with client(sim, timeout_s=0.15, max_retries=1) as c, pytest.raises(VendorTransient) as caught:
        c.fetch(ASSET)
    assert caught.value.reason == "no answer within 0.15 s (ReadTimeout) after 2 attempts"


# -- the seeded random mix ----------------------------------------------------------------------


def test_the_random_mix_is_seeded_deterministic_and_close_to_the_rate() -> None:
    ids = [f"Zone {n}_MTR_{n:04d}" for n in range(2000)]
    config = SimulatorConfig(token=TOKEN, fault_rate=0.25, seed=7)
    plan = {i: config.fault_for(i) for i in ids}
    again = SimulatorConfig(token=TOKEN, fault_rate=0.25, seed=7)
    assert plan == {i: again.fault_for(i) for i in ids}
    reseeded = SimulatorConfig(token=TOKEN, fault_rate=0.25, seed=8)
    assert plan != {i: reseeded.fault_for(i) for i in ids}
    kinds = [f["kind"] for f in plan.values() if f is not None]
    assert 0.21 < len(kinds) / len(ids) < 0.29
    assert set(kinds) == set(RANDOM_MIX)
    assert all(SimulatorConfig(token=TOKEN).fault_for(i) is None for i in ids[:50])


def test_an_explicit_fault_wins_over_the_random_mix(start_simulator: StartSimulator) -> None:
    sim = start_simulator(faults={ASSET: "not_found"}, fault_rate=1.0)
    assert sim.config.fault_for(ASSET) == {"kind": "not_found"}
    assert raw_post(sim, {"serialnumber": ASSET}).status_code == 404


def test_the_random_mix_served_over_http_matches_its_plan(start_simulator: StartSimulator) -> None:
    sim = start_simulator(fault_rate=0.5, seed=3)
    ids = [f"Zone {n}_MTR_{n:04d}" for n in range(40)]
    with client(sim, retry_after_cap_s=0) as c:  # the mix's 429s ask for 1 s each
        for serialnumber in ids:
            fault = sim.config.fault_for(serialnumber)
            if fault is None or fault["kind"] in TRANSIENT_KINDS:
                assert c.fetch(serialnumber).attempts == (1 if fault is None else 2)
            else:
                with pytest.raises((VendorRejected, VendorAuthError)):
                    c.fetch(serialnumber)
    planned = [sim.config.fault_for(i) for i in ids]
    assert sum(sim.stats()["faults"].values()) == sum(f is not None for f in planned)


# -- stats --------------------------------------------------------------------------------------


def test_stats_show_one_request_in_flight_and_starts_spaced_by_the_rate(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={"Plant 02_PUMP_02": "unavailable"})
    ids = [f"Plant {n:02d}_PUMP_{n:02d}" for n in range(1, 11)]
    with client(sim, rate_ms=60) as c:
        for serialnumber in ids:
            c.fetch(serialnumber)
    stats = httpx.get(f"{sim.base_url}/__stats").json()
    assert stats == sim.stats()
    assert stats["requests"] == 11
    assert stats["per_id"]["Plant 02_PUMP_02"] == 2
    assert (stats["max_in_flight"], stats["in_flight"]) == (1, 0)
    assert stats["min_gap_ms"] >= 60 - CLOCK_SLACK_MS
    # 11 starts, 10 spacings of at least the rate, the first to the last on the vendor's clock.
    assert stats["span_ms"] >= 10 * (60 - CLOCK_SLACK_MS)


# One request as raw bytes, for tests that time what they send on a socket of their own.
RAW_REQUEST = (
    f"POST {ENDPOINT_PATH} HTTP/1.1\r\nHost: sim\r\nAuthorization: Bearer {TOKEN}\r\n"
    'Content-Type: application/json\r\nContent-Length: 26\r\n\r\n{"serialnumber": "A0001"}\n'
).encode()


def _read_answers(conn: socket.socket, received: bytes, count: int) -> bytes:
    """What `conn` sends until `received` holds `count` answers of 200."""
    while received.count(b"HTTP/1.1 200") < count:
        chunk = conn.recv(65536)
        assert chunk, received[-300:]
        received += chunk
    return received


def test_the_gap_between_starts_is_the_gap_between_arrivals(
    start_simulator: StartSimulator,
) -> None:
    # A caller that sends its next request while the last one is still being answered sends
    # it too soon. The server's handler reads it only once its answer is out, so the gap its
    # own clock would see is the answer's 300 ms; the kernel's arrival stamps show the 50 ms.
    sim = start_simulator(latency_ms=300)
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as conn:
        conn.sendall(RAW_REQUEST)
        time.sleep(0.05)
        conn.sendall(RAW_REQUEST)
        _read_answers(conn, b"", 2)
    stats = sim.stats()
    assert stats["requests"] == 2
    assert 40 <= stats["min_gap_ms"] < 150, stats


def test_a_connections_first_request_is_stamped_on_arrival_when_its_thread_starts_late(
    start_simulator: StartSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On a busy machine the thread that serves a new connection can start long after the first
    # request reached the host. Stamped when that thread first reads, the request would seem
    # 150 ms later than it came, and the next one, 200 ms after it, only 50 ms after it.
    from ic3sync.innomaint.simulator.handler import SimulatorRequestHandler

    started_late = SimulatorRequestHandler.setup

    def setup(self: SimulatorRequestHandler) -> None:
        time.sleep(0.15)
        started_late(self)

    monkeypatch.setattr(SimulatorRequestHandler, "setup", setup)
    sim = start_simulator()
    with socket.create_connection(("127.0.0.1", sim.port), timeout=10) as conn:
        conn.sendall(RAW_REQUEST)
        first_sent = time.monotonic()
        received = _read_answers(conn, b"", 1)
        time.sleep(max(0.0, first_sent + 0.2 - time.monotonic()))
        conn.sendall(RAW_REQUEST)
        _read_answers(conn, received, 2)
    stats = sim.stats()
    assert stats["requests"] == 2
    assert stats["min_gap_ms"] >= 190, stats


def test_stats_see_concurrent_requests_when_a_caller_sends_them(
    start_simulator: StartSimulator,
) -> None:
    # Proves max_in_flight can report more than 1, so the test above would catch a pool.
    sim = start_simulator(faults={f"A{n}": {"kind": "slow", "ms": 200} for n in range(3)})
    clients = [httpx.Client() for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(
            pool.map(
                lambda n: clients[n].post(
                    sim.url,
                    json={"serialnumber": f"A{n}"},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                ),
                range(3),
            )
        )
    for c in clients:
        c.close()
    assert sim.stats()["max_in_flight"] == 3


def test_a_held_asset_is_answered_once_the_test_releases_it(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={ASSET: "held"})
    root = sim.url.split("/api/")[0]
    with ThreadPoolExecutor(1) as pool, httpx.Client() as client:
        asked = pool.submit(
            client.post,
            sim.url,
            json={"serialnumber": ASSET},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        )
        deadline = time.monotonic() + 10
        while sim.stats()["requests"] < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sim.stats()["requests"] == 1 and not asked.done()
        assert httpx.post(f"{root}/__release").status_code == 200
        answer = asked.result(timeout=10)
    assert answer.status_code == 200 and answer.json()["status"] is True


def test_reset_clears_the_stats_and_replays_transient_faults(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator(faults={ASSET: "unavailable"})
    with client(sim) as c:
        assert c.fetch(ASSET).attempts == 2
        assert c.fetch(ASSET).attempts == 1
        assert httpx.post(f"{sim.base_url}/__reset").status_code == 200
        assert sim.stats() == {
            "requests": 0,
            "per_id": {},
            "in_flight": 0,
            "max_in_flight": 0,
            "min_gap_ms": None,
            "span_ms": None,
            "faults": {},
        }
        assert c.fetch(ASSET).attempts == 2


# -- faults files -------------------------------------------------------------------------------


def test_a_faults_file_is_loaded_with_defaults_filled_in(tmp_path: Path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(json.dumps({"A": "not_found", "B": {"kind": "rate_limited", "times": 2}}))
    assert load_faults(path) == {
        "A": {"kind": "not_found"},
        "B": {"kind": "rate_limited", "retry_after": 1, "times": 2},
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"A": "not_found",}', "not valid JSON (line 1"),
        ('["A"]', "expected a JSON object"),
        ('{"A": "explode"}', "fault for 'A': unknown kind 'explode'"),
        ('{"A": {"kind": "slow", "seconds": 3}}', "slow takes no 'seconds'"),
        ('{"A": {"kind": "unavailable", "times": 0}}', "times must be a whole number >= 1"),
        ('{"A": {"kind": "slow", "ms": "fast"}}', "ms must be a number >= 0"),
        ('{"A": 3}', 'expected a kind name or an object with a "kind"'),
    ],
)
def test_a_bad_faults_file_is_refused_naming_the_file(
    tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "faults.json"
    path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_faults(path)
    assert str(caught.value).startswith(str(path))
    assert message in str(caught.value)


def test_a_missing_faults_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.json: cannot read"):
        load_faults(tmp_path / "nope.json")


# -- lifecycle ----------------------------------------------------------------------------------


def test_stop_returns_promptly_with_an_idle_keep_alive_connection_open(
    start_simulator: StartSimulator,
) -> None:
    sim = start_simulator()
    url = sim.url
    with client(sim) as c:
        c.fetch(ASSET)
        started = time.monotonic()
        sim.stop()
        assert time.monotonic() - started < 1.0
    with pytest.raises(httpx.TransportError):
        httpx.post(url, json={"serialnumber": ASSET})


def test_serve_forever_prints_its_url_serves_and_stops_on_sigterm(tmp_path: Path) -> None:
    script = (
        "from ic3sync.innomaint.simulator import SimulatorConfig, serve_forever\n"
        f"serve_forever(SimulatorConfig(token={TOKEN!r}), '127.0.0.1', 0)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = line.split()[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith(ENDPOINT_PATH)
        answer = httpx.post(
            url, json={"serialnumber": ASSET}, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.json() == asset_payload(ASSET)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
