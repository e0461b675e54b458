"""A local stand-in for the Innomaint asset-detail API: deterministic data, fault knobs, stats.

It is a real HTTP/1.1 server with keep-alive (stdlib ThreadingHTTPServer), so the client under
test goes through the same sockets, headers and timeouts as against Innomaint.

Faults are chosen per serialnumber, from an explicit mapping (usually a JSON file, see
`load_faults`) or, for ids not in it, from a seeded random mix (`fault_rate`, `seed`). Kinds:

    transient (retried by the client; each served `times` times, default 1, then the asset is OK)
      rate_limited      429 with Retry-After: `retry_after` (seconds, default 1, or an HTTP-date)
      unavailable       503
      bad_gateway       502
      gateway_timeout   504
      timeout           no answer for `ms` (default 3000), then the normal answer
      reset             the connection is reset without an answer
    permanent (every request)
      not_found         404          bad_request   400          unauthorized  401
      status_false      200 with "status": false                non_json      200 with HTML
    data (every request; a 200 the client accepts)
      other_serial      the answer is about another serialnumber
      empty_fields      most values "" or null
      string_numbers    every number sent as a string
      bad_numbers       counts "abc", durations "x:y", availability "n/a"
      slow              the normal answer after `ms` (default 500)

The random mix picks a kind with these weights (see RANDOM_MIX): unavailable 25, rate_limited 15,
bad_gateway 10, gateway_timeout 10, reset 10, not_found 10, status_false 10, bad_request 5,
non_json 5. So about 70 % of faulty ids recover on a retry and 30 % fail for good.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import json
import select
import signal
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ic3sync.errors import ConfigError

ENDPOINT_PATH = "/api/public/api/restapicontroller/assetmanagement/getAssetIDDetailByAssetID"

# kind -> {parameter: default}; `times` is how often a transient fault is served per id.
KINDS: dict[str, dict[str, Any]] = {
    "rate_limited": {"retry_after": 1, "times": 1},
    "unavailable": {"times": 1},
    "bad_gateway": {"times": 1},
    "gateway_timeout": {"times": 1},
    "timeout": {"ms": 3000, "times": 1},
    "reset": {"times": 1},
    "not_found": {},
    "bad_request": {},
    "unauthorized": {},
    "status_false": {},
    "non_json": {},
    "other_serial": {},
    "empty_fields": {},
    "string_numbers": {},
    "bad_numbers": {},
    "slow": {"ms": 500},
}
TRANSIENT_KINDS = frozenset(
    {"rate_limited", "unavailable", "bad_gateway", "gateway_timeout", "timeout", "reset"}
)
RANDOM_MIX: dict[str, int] = {
    "unavailable": 25,
    "rate_limited": 15,
    "bad_gateway": 10,
    "gateway_timeout": 10,
    "reset": 10,
    "not_found": 10,
    "status_false": 10,
    "bad_request": 5,
    "non_json": 5,
}


def normalise_fault(serialnumber: str, spec: Any, *, source: str = "faults") -> dict[str, Any]:
    """`spec` ("kind" or {"kind": ..., params}) as a dict with every parameter filled in."""
    where = f"{source}: fault for {serialnumber!r}"
    if isinstance(spec, str):
        spec = {"kind": spec}
    if not isinstance(spec, Mapping):
        raise ConfigError(f'{where}: expected a kind name or an object with a "kind"')
    kind = spec.get("kind")
    if kind not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise ConfigError(f"{where}: unknown kind {kind!r}; known kinds: {known}")
    params = dict(KINDS[kind])
    for name, value in spec.items():
        if name == "kind":
            continue
        if name not in params:
            allowed = ", ".join(sorted(params)) or "none"
            raise ConfigError(f"{where}: {kind} takes no {name!r} (parameters: {allowed})")
        if name == "retry_after" and isinstance(value, str) and value.strip():
            pass  # an HTTP-date, sent as given
        elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: {name} must be a number >= 0, got {value!r}")
        elif name == "times" and (value < 1 or value != int(value)):
            raise ConfigError(f"{where}: times must be a whole number >= 1, got {value!r}")
        params[name] = value
    return {"kind": kind, **params}


def normalise_faults(faults: Mapping[str, Any], *, source: str = "faults") -> dict[str, Any]:
    if not isinstance(faults, Mapping):
        raise ConfigError(f"{source}: expected a JSON object mapping serialnumbers to faults")
    return {str(k): normalise_fault(str(k), spec, source=source) for k, spec in faults.items()}


def load_faults(path: Path) -> dict[str, Any]:
    """Per-id faults from a JSON file: {"A-1": "not_found", "A-2": {"kind": "slow", "ms": 50}}."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the faults file ({exc.strerror})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path}: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        ) from None
    return normalise_faults(raw, source=str(path))


@dataclass
class SimulatorConfig:
    token: str
    faults: dict[str, Any] = field(default_factory=dict)
    fault_rate: float = 0.0
    seed: int = 0
    latency_ms: float = 0.0

    def __post_init__(self) -> None:
        if not self.token:
            raise ConfigError("the simulator needs a token to check requests against")
        if not 0.0 <= self.fault_rate <= 1.0:
            raise ConfigError(f"fault_rate must be between 0 and 1, got {self.fault_rate}")
        self.faults = normalise_faults(self.faults)

    def __repr__(self) -> str:
        return (
            f"SimulatorConfig(token='***', faults={len(self.faults)} ids, "
            f"fault_rate={self.fault_rate}, seed={self.seed}, latency_ms={self.latency_ms})"
        )

    def fault_for(self, serialnumber: str) -> dict[str, Any] | None:
        """The fault planned for an id: its explicit one, else the seeded mix's, else None."""
        if serialnumber in self.faults:
            return self.faults[serialnumber]
        if self.fault_rate <= 0:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{serialnumber}".encode()).digest()
        if int.from_bytes(digest[:8]) / 2**64 >= self.fault_rate:
            return None
        ticket = int.from_bytes(digest[8:16]) % sum(RANDOM_MIX.values())
        for kind, weight in RANDOM_MIX.items():
            if ticket < weight:
                return normalise_fault(serialnumber, kind)
            ticket -= weight
        raise AssertionError("unreachable: the ticket is below the total weight")


# -- deterministic data ------------------------------------------------------------------------

FIXTURE_ID = "Delhi Cantt Naraina_BP_01"
# The real answer for the fixture's id, so demos of that asset show the customer's own numbers.
_FIXTURE_PAYLOAD: dict[str, Any] = {
    "status": True,
    "response_code": 200,
    "response": {
        "data": {
            "id": 577833,
            "traceid": 577833,
            "serialnumber": FIXTURE_ID,
            "barcode": "MOD135692/SER577833",
            "criticality": "High",
            "capacity_rating": "90KW",
            "customer_id": 24463,
            "customer_name": "DJB Khyala",
            "location_id": 34801,
            "location_name": "Naraina D.Cantt UGR_Zone",
            "building_id": 16420,
            "building_name": "Naraina D.Cantt UGR_Zone",
            "floor_id": 12030,
            "floor_name": "UGR",
            "department_id": 12250,
            "department_name": "Working",
            "asset_floor_id": 20025,
            "asset_building_id": 21852,
            "asset_department_id": 27422,
            "installation_date": None,
            "ticketcount": 5,
            "schedulecount": 44,
            "schedule_configured": 1,
            "schedule_initiate": 1,
            "in_charge_person": "JWIL",
            "iot_device_mapped": 0,
            "status": 1,
            "asset_live_status": 1,
            "traceability_updated_on": "2026-03-19 04:21:46+00",
            "fk_customers_equipment_mapping_id": 550822,
            "customers_locations_serialnumber_mapping_id": 505836,
            "customer_traceability_id": 550822,
            "customer_model_id": 225345,
            "location_traceability_id": 505836,
            "location_model_id": 252933,
        },
        "performance": {
            "equipments_name": "LT-Panel",
            "equipment_model_name": "NA",
            "criticality_type_label": "Non-Critical",
            "total_ticket": 2,
            "mttr": "00:08:30",
            "mtbf": "8526:06:43",
            "availability": "100",
            "total_ticket_breakdown_hrs": "00:17:00",
            "total_schedule_breakdown_hrs": "0",
            "asset_created_date": "09/07/2024 16:59",
            "total_actual_hrs": "17052:30:27",
        },
        "workorder_transactional": {
            "upto": {
                "work_estimate_count": "2",
                "work_estimate_cost": "0.00",
                "schedule_count": "0",
                "schedule_cost": "0.00",
                "ticket_count": "2",
                "ticket_cost": "0.00",
            },
            "last_year": {
                "work_estimate_count": "0",
                "work_estimate_cost": "0.00",
                "schedule_count": "0",
                "schedule_cost": "0.00",
                "ticket_count": "0",
                "ticket_cost": "0.00",
            },
        },
    },
}

BUILDING_COUNT = 40  # 40 buildings x 3 floors x 2 departments: many assets share each row
_AREAS = ("Naraina", "Dwarka", "Rohini", "Okhla", "Janakpuri", "Karol Bagh", "Shahdara", "Saket")
_SITES = ("UGR_Zone", "WTP", "Pumping Station", "STP", "Booster")
_CUSTOMERS = (
    (24463, "DJB Khyala"),
    (24470, "DJB Dwarka"),
    (24481, "DJB Rohini"),
    (24492, "DJB Okhla"),
    (24503, "DJB Central"),
)
_FLOORS = ("UGR", "Ground", "First")
_DEPARTMENTS = ("Working", "Standby")
_EQUIPMENT = ("LT-Panel", "Pump", "Motor", "Transformer", "DG Set", "Valve", "Blower")
_MODELS = ("NA", "KSB-150", "Kirloskar DB-90", "ABB M3BP", "Crompton 75")
_IN_CHARGE = ("JWIL", "Suez", "L&T", "VA Tech Wabag")


class _Draw:
    """Numbers derived from an id with sha256, one independent stream per field name."""

    def __init__(self, serialnumber: str) -> None:
        self._seed = serialnumber.encode()

    def number(self, name: str, n: int) -> int:
        digest = hashlib.sha256(name.encode() + b"\0" + self._seed).digest()
        return int.from_bytes(digest[:8]) % n

    def pick(self, name: str, options: tuple[Any, ...]) -> Any:
        return options[self.number(name, len(options))]

    def duration(self, name: str, max_hours: int) -> str:
        """ "H:MM:SS" style, hours unbounded (the API sends "8526:06:43")."""
        seconds = self.number(name, max_hours * 3600 + 1)
        return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    def money(self, name: str, max_rupees: int) -> str:
        return f"{self.number(name, max_rupees * 100 + 1) / 100:.2f}"


def asset_payload(serialnumber: str) -> dict[str, Any]:
    """The full getAssetIDDetailByAssetID answer for an id, the same every time it is asked."""
    if serialnumber == FIXTURE_ID:
        return copy.deepcopy(_FIXTURE_PAYLOAD)
    d = _Draw(serialnumber)
    trace = 100_000 + d.number("traceid", 900_000)
    b = d.number("building", BUILDING_COUNT)
    floor_key = b * len(_FLOORS) + d.number("floor", len(_FLOORS))
    dept_key = floor_key * len(_DEPARTMENTS) + d.number("department", len(_DEPARTMENTS))
    customer_id, customer_name = _CUSTOMERS[b % len(_CUSTOMERS)]
    building_name = f"{_AREAS[b % len(_AREAS)]} {_SITES[b // len(_AREAS) % len(_SITES)]}"
    installed = d.number("installed", 3) > 0
    customer_trace = 400_000 + d.number("customer_trace", 200_000)
    location_trace = 500_000 + d.number("location_trace", 100_000)
    data = {
        "id": trace,
        "traceid": trace,
        "serialnumber": serialnumber,
        "barcode": f"MOD{100_000 + d.number('model', 900_000)}/SER{trace}",
        "criticality": d.pick("criticality", ("High", "Medium", "Low")),
        "capacity_rating": f"{d.pick('capacity', (5, 7.5, 11, 15, 22, 30, 45, 55, 75, 90))}KW",
        "customer_id": customer_id,
        "customer_name": customer_name,
        "location_id": 34_800 + b,
        "location_name": building_name,
        "building_id": 16_400 + b,
        "building_name": building_name,
        "floor_id": 12_000 + floor_key,
        "floor_name": _FLOORS[floor_key % len(_FLOORS)],
        "department_id": 12_200 + dept_key,
        "department_name": _DEPARTMENTS[dept_key % len(_DEPARTMENTS)],
        "asset_floor_id": 20_000 + floor_key,
        "asset_building_id": 21_800 + b,
        "asset_department_id": 27_000 + dept_key,
        "fk_customers_equipment_mapping_id": customer_trace,
        "customers_locations_serialnumber_mapping_id": location_trace,
        "customer_traceability_id": customer_trace,
        "customer_model_id": 225_000 + d.number("customer_model", 1000),
        "location_traceability_id": location_trace,
        "location_model_id": 252_000 + d.number("location_model", 1000),
        "in_charge_person": d.pick("in_charge", _IN_CHARGE),
        "ticketcount": d.number("ticketcount", 20),
        "schedulecount": d.number("schedulecount", 60),
        "schedule_configured": d.number("schedule_configured", 2),
        "schedule_initiate": d.number("schedule_initiate", 2),
        "iot_device_mapped": d.number("iot", 2),
        "status": 1,
        "asset_live_status": 1 if d.number("live", 10) else 0,
        "traceability_updated_on": (
            f"2026-{1 + d.number('upd_month', 3):02d}-{1 + d.number('upd_day', 28):02d} "
            f"{d.number('upd_h', 24):02d}:{d.number('upd_m', 60):02d}:"
            f"{d.number('upd_s', 60):02d}+00"
        ),
        "installation_date": (
            f"{2015 + d.number('inst_year', 10)}-{1 + d.number('inst_month', 12):02d}-"
            f"{1 + d.number('inst_day', 28):02d}"
            if installed
            else None
        ),
        "year_of_manufacturing": 2010 + d.number("manufactured", 14) if installed else None,
        **_tracking_flags(d),
    }
    tickets = d.number("total_ticket", 12)
    performance = {
        "equipments_name": d.pick("equipment", _EQUIPMENT),
        "equipment_model_name": d.pick("equipment_model", _MODELS),
        "criticality_type_label": d.pick("criticality_label", ("Critical", "Non-Critical")),
        "total_ticket": tickets,
        "mttr": d.duration("mttr", 6) if tickets else "0",
        # Usually beyond 24 h: the parser must not read these as a time of day.
        "mtbf": d.duration("mtbf", 20_000) if tickets else "0",
        "availability": "100"
        if not tickets
        else f"{90 + d.number('availability', 1000) / 100:.2f}".rstrip("0").rstrip("."),
        "total_ticket_breakdown_hrs": d.duration("ticket_breakdown", 40) if tickets else "0",
        "total_schedule_breakdown_hrs": (
            d.duration("schedule_breakdown", 30) if d.number("has_schedule_bd", 3) == 0 else "0"
        ),
        "asset_created_date": (
            f"{1 + d.number('created_day', 28):02d}/{1 + d.number('created_month', 12):02d}/"
            f"{2019 + d.number('created_year', 7)} "
            f"{d.number('created_h', 24):02d}:{d.number('created_m', 60):02d}"
        ),
        "total_actual_hrs": d.duration("actual", 40_000),
    }
    upto = _workorder_period(d, "upto", scale=1)
    last_year = _workorder_period(d, "last_year", scale=4)
    return {
        "status": True,
        "response_code": 200,
        "response": {
            "data": data,
            "performance": performance,
            "workorder_transactional": {"upto": upto, "last_year": last_year},
        },
    }


def _tracking_flags(d: _Draw) -> dict[str, int]:
    return {
        "mapping_status": 1,
        "traceability_status": 1,
        "is_loaner": 0,
        "is_ble_tracking": int(d.number("ble", 4) == 0),
        "is_rfid_tracking": int(d.number("rfid", 4) == 0),
        "is_qr_tracking": d.number("qr", 2),
        "is_tracking_enabled": d.number("tracking", 2),
    }


def _workorder_period(d: _Draw, period: str, *, scale: int) -> dict[str, str]:
    """Counts and costs as strings, as the API sends them; last year is a fraction of all time."""
    counts = {
        name: d.number(f"{period}_{name}", 40 // scale + 1)
        for name in ("work_estimate", "schedule", "ticket")
    }
    return {
        key: value
        for name, count in counts.items()
        for key, value in (
            (f"{name}_count", str(count)),
            (f"{name}_cost", d.money(f"{period}_{name}_cost", 5000 * count) if count else "0.00"),
        )
    }


@functools.lru_cache(maxsize=16_384)
def _ok_body(serialnumber: str) -> bytes:
    # Caching the encoded answer is what lets one server thread answer thousands per second.
    return json.dumps(asset_payload(serialnumber)).encode()


def _other_serial(serialnumber: str) -> dict[str, Any]:
    return asset_payload(f"{serialnumber}-OTHER")


def _empty_fields(serialnumber: str) -> dict[str, Any]:
    payload = asset_payload(serialnumber)
    body = payload["response"]
    keep = {"id", "traceid", "serialnumber"}
    for section in (body["data"], body["performance"], *body["workorder_transactional"].values()):
        for index, key in enumerate(list(section)):
            if key not in keep:
                section[key] = "" if index % 2 == 0 else None
    return payload


def _string_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _string_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_string_numbers(item) for item in value]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def _bad_numbers(serialnumber: str) -> dict[str, Any]:
    payload = asset_payload(serialnumber)
    body = payload["response"]
    body["data"].update(ticketcount="abc", schedulecount="abc")
    perf = body["performance"]
    perf["total_ticket"] = "abc"
    for key in ("mttr", "mtbf", "total_ticket_breakdown_hrs", "total_actual_hrs"):
        perf[key] = "x:y"
    perf["availability"] = "n/a"
    for period in body["workorder_transactional"].values():
        for key in [k for k in period if k.endswith("_count")]:
            period[key] = "abc"
    return payload


_DATA_FAULTS = {
    "other_serial": _other_serial,
    "empty_fields": _empty_fields,
    "string_numbers": lambda sid: _string_numbers(asset_payload(sid)),
    "bad_numbers": _bad_numbers,
}
_FAULT_STATUS = {
    "rate_limited": (429, "Too Many Requests"),
    "unavailable": (503, "Service temporarily unavailable"),
    "bad_gateway": (502, "Bad Gateway"),
    "gateway_timeout": (504, "Gateway Timeout"),
    "not_found": (404, "Asset not found"),
    "bad_request": (400, "Invalid serialnumber"),
    "unauthorized": (401, "Unauthenticated."),
}
_HTML = (
    b"<!DOCTYPE html><html><head><title>Innomaint</title></head>"
    b"<body><h1>Scheduled maintenance</h1><p>We will be back shortly.</p></body></html>"
)


def _json_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# -- stats -------------------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests = 0
            self.per_id: Counter[str] = Counter()
            self.faults: Counter[str] = Counter()
            self.fault_hits: Counter[str] = Counter()  # per id, for `times`
            self.in_flight = 0
            self.max_in_flight = 0
            self.last_start: float | None = None
            self.min_gap_s: float | None = None

    def begin(self) -> None:
        now = time.monotonic()
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.last_start is not None:
                gap = now - self.last_start
                self.min_gap_s = gap if self.min_gap_s is None else min(self.min_gap_s, gap)
            self.last_start = now

    def end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def asked(self, serialnumber: str, fault: dict[str, Any] | None) -> str | None:
        """Count a request for an id; the fault kind to serve for it now, if any."""
        with self._lock:
            self.per_id[serialnumber] += 1
            if fault is None:
                return None
            kind = fault["kind"]
            if kind in TRANSIENT_KINDS and self.fault_hits[serialnumber] >= fault["times"]:
                return None
            self.fault_hits[serialnumber] += 1
            self.faults[kind] += 1
            return str(kind)

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "per_id": dict(self.per_id),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "min_gap_ms": None if self.min_gap_s is None else self.min_gap_s * 1000.0,
                "faults": dict(self.faults),
            }


# -- the server --------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        # Idle keep-alive connections would otherwise keep their handler threads reading.
        with self.connections_lock:
            for conn in list(self.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; without TCP_NODELAY the second waits for an ACK.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the client went away; nothing left to flush to
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # thousands of requests a second: access logs would drown the caller's output

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] == "/__stats":
            self._send(200, _json_bytes(self.server.simulator.stats()))
        else:
            self._send(405, _json_bytes({"status": False, "message": "use POST"}))

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] == "/__reset":
            self._read_body()
            self.server.simulator.reset()
            self._send(200, _json_bytes({"status": True}))
            return
        stats = self.server.simulator._stats
        stats.begin()
        try:
            self._answer(self.server.simulator.config, stats)
        except OSError:
            self.close_connection = True  # the client hung up mid-answer
        finally:
            stats.end()

    def _answer(self, config: SimulatorConfig, stats: _Stats) -> None:
        body = self._read_body()
        if body is None:
            return
        if self.headers.get("Authorization", "") != f"Bearer {config.token}":
            stats.count_fault("wrong_token")
            self._send(401, _json_bytes({"status": False, "message": "Unauthenticated."}))
            return
        try:
            request = json.loads(body)
        except ValueError:
            request = None
        serialnumber = request.get("serialnumber") if isinstance(request, dict) else None
        if not isinstance(serialnumber, str) or not serialnumber:
            stats.count_fault("missing_serialnumber")
            message = 'the body must be JSON with a "serialnumber"'
            self._send(400, _json_bytes({"status": False, "message": message}))
            return
        fault = config.fault_for(serialnumber)
        kind = stats.asked(serialnumber, fault)
        if config.latency_ms > 0:
            time.sleep(config.latency_ms / 1000.0)
        if kind is None:
            self._send(200, _ok_body(serialnumber))
            return
        assert fault is not None
        self._serve_fault(kind, fault, serialnumber)

    def _serve_fault(self, kind: str, fault: dict[str, Any], serialnumber: str) -> None:
        if kind in _FAULT_STATUS:
            status, message = _FAULT_STATUS[kind]
            headers = {"Retry-After": str(fault["retry_after"])} if kind == "rate_limited" else {}
            body = {"status": False, "response_code": status, "message": message}
            self._send(status, _json_bytes(body), headers=headers)
        elif kind == "status_false":
            body = {
                "status": False,
                "response_code": 200,
                "message": f"No asset found for serial number {serialnumber}",
                "response": {},
            }
            self._send(200, _json_bytes(body))
        elif kind == "non_json":
            self._send(200, _HTML, content_type="text/html; charset=utf-8")
        elif kind in _DATA_FAULTS:
            self._send(200, _json_bytes(_DATA_FAULTS[kind](serialnumber)))
        elif kind == "slow":
            time.sleep(fault["ms"] / 1000.0)
            self._send(200, _ok_body(serialnumber))
        elif kind == "timeout":
            if self._client_left_within(fault["ms"] / 1000.0):
                self.close_connection = True
            else:
                self._send(200, _ok_body(serialnumber))
        elif kind == "reset":
            # Linger 0 makes close() send RST instead of FIN: a reset, not a clean hang-up.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        else:
            raise AssertionError(f"fault kind without a handler: {kind}")

    def _client_left_within(self, seconds: float) -> bool:
        """Wait up to `seconds`; True as soon as the client closes the connection.

        A client that timed out hangs up; noticing it ends this request, so the stats' in-flight
        count is not inflated by answers nobody waits for.
        """
        readable, _, _ = select.select([self.connection], [], [], seconds)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            self.close_connection = True
            self._send(411, _json_bytes({"status": False, "message": "Content-Length required"}))
            return None
        return self.rfile.read(int(length))

    def _send(
        self,
        status: int,
        body: bytes,
        *,
        content_type: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


class Simulator:
    """The simulator on (host, port) in a background thread; port 0 picks a free port."""

    def __init__(self, config: SimulatorConfig, host: str = "127.0.0.1", port: int = 0) -> None:
        self.config = config
        self.host = host
        self._requested_port = port
        self._stats = _Stats()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def url(self) -> str:
        """The endpoint to use as INNOMAINT_API_URL."""
        return self.base_url + ENDPOINT_PATH

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._server = _Server((self.host, self._requested_port), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"innomaint-simulator:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def stats(self) -> dict[str, Any]:
        return self._stats.snapshot()

    def reset(self) -> None:
        """Clear the stats, and with them how often each transient fault was served."""
        self._stats.reset()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._server is not None else "stopped"
        return f"Simulator({where}, {self.config!r})"


def serve_forever(config: SimulatorConfig, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM, printing the URL to use as INNOMAINT_API_URL."""
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        with Simulator(config, host, port) as simulator:
            print(f"Innomaint simulator listening on {simulator.url}", flush=True)
            # A timed wait keeps the main thread returning to the interpreter, where signal
            # handlers run.
            while not stop.wait(0.5):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
