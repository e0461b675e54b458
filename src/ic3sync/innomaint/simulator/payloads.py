"""Generated answers of the simulator: the same deterministic payload for an id every time,
the customer's real answer for the fixture id, and the bodies of the faults it serves."""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from typing import Any

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
# Generated building, floor and department ids start past the fixture's (16420, 12030, 12250):
# an id shared with the fixture under another name would be a change at every run.
_BUILDING_IDS, _FLOOR_IDS, _DEPARTMENT_IDS = 16_500, 12_500, 12_700
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
        "building_id": _BUILDING_IDS + b,
        "building_name": building_name,
        "floor_id": _FLOOR_IDS + floor_key,
        "floor_name": _FLOORS[floor_key % len(_FLOORS)],
        "department_id": _DEPARTMENT_IDS + dept_key,
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


_CRITICALITIES = ("High", "Medium", "Low")


def drifted_payload(serialnumber: str, times: int) -> dict[str, Any]:
    """The answer for an id whose values have drifted `times` times since the register was
    first read: another criticality and person in charge, more tickets and schedules."""
    payload = asset_payload(serialnumber)
    body = payload["response"]
    data = body["data"]
    data["criticality"] = _next(_CRITICALITIES, data["criticality"], times)
    data["in_charge_person"] = _next(_IN_CHARGE, data["in_charge_person"], times)
    data["ticketcount"] = int(data["ticketcount"]) + times
    data["schedulecount"] = int(data["schedulecount"]) + 2 * times
    body["performance"]["total_ticket"] = int(body["performance"]["total_ticket"]) + times
    upto = body["workorder_transactional"]["upto"]
    upto["ticket_count"] = str(int(upto["ticket_count"]) + times)
    return payload


def _next(options: tuple[str, ...], current: str, times: int) -> str:
    start = options.index(current) if current in options else 0
    return options[(start + times) % len(options)]


@functools.lru_cache(maxsize=16_384)
def ok_body(serialnumber: str) -> bytes:
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


DATA_FAULTS = {
    "other_serial": _other_serial,
    "empty_fields": _empty_fields,
    "string_numbers": lambda sid: _string_numbers(asset_payload(sid)),
    "bad_numbers": _bad_numbers,
}
FAULT_STATUS = {
    "rate_limited": (429, "Too Many Requests"),
    "unavailable": (503, "Service temporarily unavailable"),
    "bad_gateway": (502, "Bad Gateway"),
    "gateway_timeout": (504, "Gateway Timeout"),
    "not_found": (404, "Asset not found"),
    "bad_request": (400, "Invalid serialnumber"),
    "unauthorized": (401, "Unauthenticated."),
}
MAINTENANCE_HTML = (
    b"<!DOCTYPE html><html><head><title>Innomaint</title></head>"
    b"<body><h1>Scheduled maintenance</h1><p>We will be back shortly.</p></body></html>"
)


def escaped(text: str) -> str:
    """`text` as a JSON string body the way a PHP vendor may write it: "/" as "\\/", and every
    other letter as a "\\u" escape, so the raw bytes never contain `text` itself."""
    out = []
    for index, char in enumerate(text):
        if char == "/":
            out.append("\\/")
        elif char.isalpha() and index % 2 == 0:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


_PLACEHOLDER = "@@ECHO@@"


def echo_token_body(serialnumber: str, token: str) -> bytes:
    """The normal answer with the request's token echoed inside values, in JSON escapes."""
    payload = asset_payload(serialnumber)
    data = payload["response"]["data"]
    data["barcode"] = f"MOD1/{_PLACEHOLDER}"
    data["capacity_rating"] = _PLACEHOLDER
    return json.dumps(payload).replace(_PLACEHOLDER, escaped(token)).encode()


def oversized_parts(serialnumber: str, mb: float) -> tuple[bytes, int, bytes]:
    """The normal answer with a barcode of `mb` MB, as (head, bytes of filler, tail): the
    server streams the filler instead of holding it."""
    payload = asset_payload(serialnumber)
    payload["response"]["data"]["barcode"] = _PLACEHOLDER
    head, tail = json.dumps(payload).split(_PLACEHOLDER)
    return head.encode(), int(mb * 1024 * 1024), tail.encode()


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload).encode()
