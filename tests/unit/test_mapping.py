"""The mapping of one API answer to rows: the real fixture field by field, then the edge cases."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ic3sync.db.schema import (
    ASSET_INT_COLUMNS,
    ASSET_TEXT_COLUMNS,
    DURATION_COLUMNS,
    PERFORMANCE_TEXT_COLUMNS,
    asset_master,
    asset_performance,
    building,
    department,
    floor,
    workorder_summary,
)
from ic3sync.errors import SerialMismatch, VendorError
from ic3sync.innomaint.models import parse_response
from ic3sync.mapping import AssetRows, rows_from_response

ASSET = "Delhi Cantt Naraina_BP_01"

EXPECTED_MASTER: dict[str, Any] = {
    "traceability_id": 577833,
    "barcode": "MOD135692/SER577833",
    "criticality": "High",
    "capacity_rating": "90KW",
    "in_charge_person": "JWIL",
    "customer_id": 24463,
    "customer_name": "DJB Khyala",
    "location_id": 34801,
    "location_name": "Naraina D.Cantt UGR_Zone",
    "building_id": 16420,
    "floor_id": 12030,
    "department_id": 12250,
    "asset_floor_id": 20025,
    "asset_building_id": 21852,
    "asset_department_id": 27422,
    "ticketcount": 5,
    "schedulecount": 44,
    "schedule_configured": 1,
    "schedule_initiate": 1,
    "iot_device_mapped": 0,
    "status": 1,
    "asset_live_status": 1,
    "traceability_updated_on": datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC),
    "fk_customers_equipment_mapping_id": 550822,
    "customers_locations_serialnumber_mapping_id": 505836,
    "customer_traceability_id": 550822,
    "customer_model_id": 225345,
    "location_traceability_id": 505836,
    "location_model_id": 252933,
}

EXPECTED_PERFORMANCE: dict[str, Any] = {
    "serialnumber": ASSET,
    "equipments_name": "LT-Panel",
    "equipment_model_name": "NA",
    "criticality_type_label": "Non-Critical",
    "total_ticket": 2,
    "mttr": "00:08:30",
    "mttr_seconds": 510,
    "mtbf": "8526:06:43",
    "mtbf_seconds": 30694003,
    "availability": "100",
    "availability_pct": Decimal("100"),
    "total_ticket_breakdown_hrs": "00:17:00",
    "total_ticket_breakdown_seconds": 17 * 60,
    "total_schedule_breakdown_hrs": "0",
    "total_schedule_breakdown_seconds": 0,
    "asset_created_date": "09/07/2024 16:59",
    "asset_created_at": datetime(2024, 7, 9, 16, 59),
    "total_actual_hrs": "17052:30:27",
    "total_actual_seconds": 17052 * 3600 + 30 * 60 + 27,
}

ZERO_COST = Decimal("0.00")


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    return json.loads(fixture_bytes)


@pytest.fixture
def rows(fixture_bytes: bytes) -> AssetRows:
    return rows_from_response(ASSET, parse_response(fixture_bytes))


def mapped_with(
    payload: dict[str, Any], change: Callable[[dict[str, Any]], None], asset: str = ASSET
) -> AssetRows:
    """Enrich a copy of the fixture after `change` edited its response body."""
    changed = copy.deepcopy(payload)
    change(changed["response"])
    return rows_from_response(asset, parse_response(json.dumps(changed)))


def set_data(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["data"].update(fields)


def set_performance(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["performance"].update(fields)


# The real answer, field by field


def test_the_fixture_maps_to_every_master_column_it_carries(rows: AssetRows) -> None:
    assert rows.master == EXPECTED_MASTER
    assert rows.cmms_asset_id == ASSET
    assert rows.traceability_id == 577833
    assert rows.problems == ()


def test_every_master_column_is_a_real_column_of_ic3_asset_master(rows: AssetRows) -> None:
    assert set(rows.master) <= set(asset_master.c.keys())


def test_fields_the_fixture_lacks_or_sends_as_null_are_absent_from_master(rows: AssetRows) -> None:
    # installation_date is null; the rest are not in this answer at all.
    for column in (
        "installation_date",
        "year_of_manufacturing",
        "mapping_status",
        "traceability_status",
        "is_loaner",
        "is_tracking_enabled",
    ):
        assert column not in rows.master


def test_the_fixture_gives_building_floor_and_department_rows(rows: AssetRows) -> None:
    assert rows.building == {
        "building_id": 16420,
        "customer_id": 24463,
        "building_name": "Naraina D.Cantt UGR_Zone",
    }
    assert rows.floor == {
        "floor_id": 12030,
        "floor_name": "UGR",
        "location_id": 34801,
        "asset_floor_id": 20025,
    }
    assert rows.department == {
        "department_id": 12250,
        "department_name": "Working",
        "floor_id": 12030,
        "location_id": 34801,
        "asset_department_id": 27422,
    }
    assert set(rows.building) <= set(building.c.keys())
    assert set(rows.floor) <= set(floor.c.keys())
    assert set(rows.department) <= set(department.c.keys())


def test_the_fixture_gives_the_performance_row_with_parsed_companions(rows: AssetRows) -> None:
    assert rows.performance == EXPECTED_PERFORMANCE
    assert set(rows.performance) <= set(asset_performance.c.keys())
    assert type(rows.performance["availability_pct"]) is Decimal


def test_the_fixture_gives_both_workorder_periods_with_decimal_costs(rows: AssetRows) -> None:
    upto, last_year = rows.workorders
    assert upto == {
        "period_type": "upto",
        "work_estimate_count": 2,
        "work_estimate_cost": ZERO_COST,
        "schedule_count": 0,
        "schedule_cost": ZERO_COST,
        "ticket_count": 2,
        "ticket_cost": ZERO_COST,
    }
    assert last_year == {
        "period_type": "last_year",
        "work_estimate_count": 0,
        "work_estimate_cost": ZERO_COST,
        "schedule_count": 0,
        "schedule_cost": ZERO_COST,
        "ticket_count": 0,
        "ticket_cost": ZERO_COST,
    }
    for row in rows.workorders:
        assert all(type(row[c]) is Decimal for c in row if c.endswith("_cost"))
        assert set(row) <= set(workorder_summary.c.keys())


def test_rows_are_frozen(rows: AssetRows) -> None:
    with pytest.raises(AttributeError):
        rows.traceability_id = 1  # type: ignore[misc]


# Serial number: the key of every write


@pytest.mark.parametrize(
    "requested", [ASSET, "delhi cantt naraina_bp_01", f"  {ASSET} ", ASSET.upper()]
)
def test_a_serial_differing_only_in_case_or_spaces_is_the_same_asset(
    payload: dict[str, Any], requested: str
) -> None:
    rows = mapped_with(payload, lambda body: None, asset=requested)
    assert rows.cmms_asset_id == requested
    assert rows.performance["serialnumber"] == requested


def test_the_requested_id_keys_the_rows_even_when_the_api_spells_it_differently(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_data(serialnumber=f" {ASSET.lower()} "))
    assert rows.cmms_asset_id == ASSET
    assert rows.performance["serialnumber"] == ASSET


def test_an_answer_for_another_serial_is_a_mismatch_naming_both(payload: dict[str, Any]) -> None:
    with pytest.raises(SerialMismatch) as info:
        mapped_with(payload, set_data(serialnumber="Delhi Cantt Naraina_BP_02"))
    assert info.value.reason == (
        "API answered for serialnumber 'Delhi Cantt Naraina_BP_02', not 'Delhi Cantt Naraina_BP_01'"
    )
    assert isinstance(info.value, VendorError)


@pytest.mark.parametrize("serial", [None, "", "   ", {"id": ASSET}, [ASSET], True])
def test_an_answer_without_a_usable_serial_is_a_mismatch(
    payload: dict[str, Any], serial: Any
) -> None:
    with pytest.raises(SerialMismatch, match="no serialnumber"):
        mapped_with(payload, set_data(serialnumber=serial))


def test_an_answer_with_the_serial_missing_entirely_is_a_mismatch(
    payload: dict[str, Any],
) -> None:
    with pytest.raises(SerialMismatch, match=ASSET):
        mapped_with(payload, lambda body: body["data"].pop("serialnumber"))


def test_a_numeric_serial_matches_the_same_digits(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(serialnumber=12345), asset="12345")
    assert rows.cmms_asset_id == "12345"


# Empty values never overwrite (rule 4)


@pytest.mark.parametrize("empty", [None, "", "   ", "null"])
def test_empty_api_criticality_is_absent_so_the_excel_value_stays(
    payload: dict[str, Any], empty: Any
) -> None:
    rows = mapped_with(payload, set_data(criticality=empty))
    assert "criticality" not in rows.master
    assert rows.problems == ()


def test_a_non_empty_api_value_overrides_and_is_stripped(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(criticality="  Low ", customer_name=" DJB "))
    assert rows.master["criticality"] == "Low"
    assert rows.master["customer_name"] == "DJB"


def test_every_text_and_integer_column_left_empty_is_absent(payload: dict[str, Any]) -> None:
    names = [c for c in (*ASSET_TEXT_COLUMNS, *ASSET_INT_COLUMNS) if c != "traceability_id"]
    blank = {name: "" for name in (*names, "traceid", "id", "customer_id", "location_name")}
    rows = mapped_with(payload, set_data(**blank))
    assert set(rows.master).isdisjoint(names)
    assert "traceability_id" not in rows.master
    assert "location_name" not in rows.master
    assert rows.traceability_id is None
    assert rows.problems == ()


@pytest.mark.parametrize(
    "column",
    ["building_id", "customer_id", "location_id", "customer_model_id", "asset_floor_id"],
)
def test_an_id_of_zero_means_none_so_the_stored_id_stays(
    payload: dict[str, Any], column: str
) -> None:
    rows = mapped_with(payload, set_data(**{column: 0}))
    assert column not in rows.master


def test_a_year_of_manufacturing_of_zero_is_absent_and_a_real_year_is_kept(
    payload: dict[str, Any],
) -> None:
    assert (
        "year_of_manufacturing"
        not in mapped_with(payload, set_data(year_of_manufacturing=0)).master
    )
    kept = mapped_with(payload, set_data(year_of_manufacturing="2019"))
    assert kept.master["year_of_manufacturing"] == 2019


def test_counts_and_flags_of_zero_are_kept_as_values(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(ticketcount=0, status=0, is_loaner="0"))
    assert rows.master["ticketcount"] == 0
    assert rows.master["status"] == 0
    assert rows.master["is_loaner"] == 0


def test_traceability_id_falls_back_to_id_when_traceid_is_missing(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body["data"].update(traceid=None, id=123))
    assert rows.traceability_id == 123
    assert rows.master["traceability_id"] == 123


def test_traceability_id_falls_back_to_id_when_traceid_is_zero(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(traceid=0, id="456"))
    assert rows.traceability_id == 456


def test_a_garbled_traceid_is_named_and_id_still_keys_the_traceability(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_data(traceid="x1", id=789))
    assert rows.traceability_id == 789
    assert rows.problems == ("data.traceid: 'x1' is not an integer",)


def test_when_neither_traceid_nor_id_parses_traceability_id_is_null(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_data(traceid="x1", id="x2"))
    assert rows.traceability_id is None
    assert rows.master["traceability_id"] is None
    assert len(rows.problems) == 2


def test_installation_date_is_parsed_from_either_date_form(payload: dict[str, Any]) -> None:
    iso = mapped_with(payload, set_data(installation_date="2020-05-01"))
    day_first = mapped_with(payload, set_data(installation_date="01/05/2020"))
    assert iso.master["installation_date"] == date(2020, 5, 1)
    assert day_first.master["installation_date"] == date(2020, 5, 1)


def test_a_numeric_barcode_is_kept_as_its_text(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(barcode=4006381333931))
    assert rows.master["barcode"] == "4006381333931"


# Values that do not parse become NULL and are named (rule 5)


def test_an_abc_ticket_count_is_null_and_named(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(ticketcount="abc"))
    assert rows.master["ticketcount"] is None
    assert rows.problems == ("data.ticketcount: 'abc' is not an integer",)


def test_several_bad_values_are_each_named_once(payload: dict[str, Any]) -> None:
    def change(body: dict[str, Any]) -> None:
        body["data"].update(schedulecount="many", traceability_updated_on="yesterday")
        body["performance"].update(total_ticket="two")
        body["workorder_transactional"]["upto"].update(ticket_count="abc", ticket_cost="free")

    rows = mapped_with(payload, change)
    assert rows.master["schedulecount"] is None
    assert rows.master["traceability_updated_on"] is None
    assert rows.performance["total_ticket"] is None
    upto = rows.workorders[0]
    assert upto["ticket_count"] is None
    assert upto["ticket_cost"] is None
    assert rows.problems == (
        "data.schedulecount: 'many' is not an integer",
        "data.traceability_updated_on: 'yesterday' is not a timestamp",
        "performance.total_ticket: 'two' is not an integer",
        "workorder_transactional.upto.ticket_count: 'abc' is not an integer",
        "workorder_transactional.upto.ticket_cost: 'free' is not a decimal number",
    )


def test_an_unparseable_building_id_is_null_in_master_and_gives_no_building_row(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_data(building_id="B-12"))
    assert rows.master["building_id"] is None
    assert rows.building is None
    assert rows.problems == ("data.building_id: 'B-12' is not an integer",)


def test_a_bad_value_is_left_out_of_the_shared_reference_rows(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(location_id="here", floor_name={"x": 1}))
    assert rows.master["location_id"] is None
    assert rows.floor == {"floor_id": 12030, "asset_floor_id": 20025}
    assert rows.department is not None
    assert "location_id" not in rows.department
    assert rows.problems == (
        "data.location_id: 'here' is not an integer",
        "data.floor_name: {'x': 1} is not text",
    )


def test_a_count_beyond_a_32_bit_column_is_null_and_named(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_performance(total_ticket=2**31))
    assert rows.performance["total_ticket"] is None
    assert rows.problems == (
        "performance.total_ticket: 2147483648 is out of range for a 32-bit integer",
    )


def test_a_cost_beyond_numeric_14_2_is_null_and_named(payload: dict[str, Any]) -> None:
    rows = mapped_with(
        payload,
        lambda body: body["workorder_transactional"]["last_year"].update(
            schedule_cost="1000000000000"
        ),
    )
    assert rows.workorders[1]["schedule_cost"] is None
    assert rows.problems == (
        "workorder_transactional.last_year.schedule_cost: '1000000000000' "
        "is out of range for numeric(14,2)",
    )


def test_a_bad_duration_keeps_its_text_and_nulls_only_the_seconds(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_performance(mttr="00:75:00", availability="n/a"))
    assert rows.performance["mttr"] == "00:75:00"
    assert rows.performance["mttr_seconds"] is None
    assert rows.performance["availability"] == "n/a"
    assert rows.performance["availability_pct"] is None
    assert rows.problems == (
        "performance.mttr: '00:75:00' is not a duration (H:MM:SS)",
        "performance.availability: 'n/a' is not a percentage",
    )


def test_a_bad_created_date_keeps_its_text_and_nulls_the_timestamp(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_performance(asset_created_date="2024-07-09"))
    assert rows.performance["asset_created_date"] == "2024-07-09"
    assert rows.performance["asset_created_at"] is None
    assert len(rows.problems) == 1


# Durations and performance text


@pytest.mark.parametrize("zero", ["0", 0, "00:00:00"])
def test_zero_durations_are_zero_seconds_not_null(payload: dict[str, Any], zero: Any) -> None:
    rows = mapped_with(payload, set_performance(**dict.fromkeys(DURATION_COLUMNS, zero)))
    for text, seconds in DURATION_COLUMNS.items():
        assert rows.performance[seconds] == 0
        assert rows.performance[text] == str(zero)
    assert rows.problems == ()


def test_numbers_in_performance_text_are_stored_as_their_string_form(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_performance(availability=99.5, equipment_model_name=7))
    assert rows.performance["availability"] == "99.5"
    assert rows.performance["availability_pct"] == Decimal("99.5")
    assert rows.performance["equipment_model_name"] == "7"


def test_an_availability_with_a_percent_sign_is_parsed(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_performance(availability="98.25%"))
    assert rows.performance["availability"] == "98.25%"
    assert rows.performance["availability_pct"] == Decimal("98.25")


def test_empty_performance_text_is_absent_along_with_its_companion(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_performance(mtbf="", availability=None))
    for column in ("mtbf", "mtbf_seconds", "availability", "availability_pct"):
        assert column not in rows.performance
    assert rows.performance["mttr_seconds"] == 510


# Missing sections


def test_a_missing_performance_section_gives_no_performance_row(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body.pop("performance"))
    assert rows.performance == {}
    assert rows.master == EXPECTED_MASTER
    assert rows.problems == ()


def test_a_null_performance_section_gives_no_performance_row(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body.update(performance=None))
    assert rows.performance == {}


def test_an_empty_performance_section_gives_only_the_serial(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body.update(performance={}))
    assert rows.performance == {"serialnumber": ASSET}


def test_a_missing_workorder_section_gives_no_workorders(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body.pop("workorder_transactional"))
    assert rows.workorders == ()
    assert rows.problems == ()


def test_only_the_periods_present_give_workorder_rows(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body["workorder_transactional"].pop("upto"))
    assert [row["period_type"] for row in rows.workorders] == ["last_year"]


def test_a_period_of_empty_values_gives_a_row_with_only_its_period(
    payload: dict[str, Any],
) -> None:
    def change(body: dict[str, Any]) -> None:
        body["workorder_transactional"]["upto"] = dict.fromkeys(
            body["workorder_transactional"]["upto"], ""
        )

    rows = mapped_with(payload, change)
    assert rows.workorders[0] == {"period_type": "upto"}


def test_a_missing_building_id_gives_no_building_row(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, lambda body: body["data"].pop("building_id"))
    assert rows.building is None
    assert rows.floor is not None


def test_reference_rows_leave_out_empty_names(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(department_name=" ", customer_id=0))
    assert rows.department is not None
    assert "department_name" not in rows.department
    assert rows.building == {"building_id": 16420, "building_name": "Naraina D.Cantt UGR_Zone"}


# Wrong JSON types never crash


@pytest.mark.parametrize("leaf", [{"nested": 1}, [1, 2]])
@pytest.mark.parametrize(
    ("section", "field", "column"),
    [
        ("data", "barcode", "barcode"),
        ("data", "ticketcount", "ticketcount"),
        ("data", "customer_id", "customer_id"),
        ("data", "installation_date", "installation_date"),
        ("data", "traceability_updated_on", "traceability_updated_on"),
        ("performance", "equipments_name", "equipments_name"),
        ("performance", "total_ticket", "total_ticket"),
    ],
)
def test_a_leaf_of_the_wrong_json_type_is_null_and_named(
    payload: dict[str, Any], section: str, field: str, column: str, leaf: Any
) -> None:
    rows = mapped_with(payload, lambda body: body[section].update({field: leaf}))
    target = rows.master if section == "data" else rows.performance
    assert target[column] is None
    assert len(rows.problems) == 1
    assert rows.problems[0].startswith(f"{section}.{field}: ")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("barcode", "data.barcode: True is not text"),
        ("installation_date", "data.installation_date: True is not a date"),
        ("traceability_updated_on", "data.traceability_updated_on: True is not a timestamp"),
    ],
)
def test_a_bool_where_text_or_a_date_belongs_is_null_and_named(
    payload: dict[str, Any], field: str, message: str
) -> None:
    rows = mapped_with(payload, set_data(**{field: True}))
    assert rows.master[field] is None
    assert rows.problems == (message,)


def test_a_bool_flag_is_read_as_zero_or_one(payload: dict[str, Any]) -> None:
    rows = mapped_with(payload, set_data(is_loaner=True, iot_device_mapped=False))
    assert rows.master["is_loaner"] == 1
    assert rows.master["iot_device_mapped"] == 0


def test_a_container_in_a_duration_nulls_its_text_and_its_seconds(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_performance(mtbf=["8526:06:43"]))
    assert rows.performance["mtbf"] is None
    assert rows.performance["mtbf_seconds"] is None
    assert rows.problems == ("performance.mtbf: ['8526:06:43'] is not text",)


def test_a_container_in_a_workorder_count_is_null_and_named(payload: dict[str, Any]) -> None:
    rows = mapped_with(
        payload,
        lambda body: body["workorder_transactional"]["upto"].update(schedule_count={"n": 1}),
    )
    assert rows.workorders[0]["schedule_count"] is None
    assert rows.problems == (
        "workorder_transactional.upto.schedule_count: {'n': 1} is not an integer",
    )


def test_every_performance_text_column_is_mapped(rows: AssetRows) -> None:
    assert set(PERFORMANCE_TEXT_COLUMNS) <= set(rows.performance)


# Values outside their domain (contract rule 10) and the vendor's times (rule 11)


def test_negative_counts_are_null_and_named(payload: dict[str, Any]) -> None:
    def change(body: dict[str, Any]) -> None:
        body["data"].update(ticketcount=-5)
        body["performance"].update(total_ticket="-2")
        body["workorder_transactional"]["upto"].update(ticket_count=-1, ticket_cost="-250.00")

    rows = mapped_with(payload, change)
    assert rows.master["ticketcount"] is None
    assert rows.performance["total_ticket"] is None
    assert rows.workorders[0]["ticket_count"] is None
    # Costs may be negative (a credit note).
    assert rows.workorders[0]["ticket_cost"] == Decimal("-250.00")
    assert rows.problems == (
        "data.ticketcount: -5 is a negative count",
        "performance.total_ticket: '-2' is a negative count",
        "workorder_transactional.upto.ticket_count: -1 is a negative count",
    )


@pytest.mark.parametrize(
    ("field", "sent", "companion", "why"),
    [
        ("mttr", "-00:08:30", "mttr_seconds", "is not a duration (H:MM:SS)"),
        ("availability", "104.5", "availability_pct", "is outside 0-100"),
        ("availability", "-3", "availability_pct", "is outside 0-100"),
    ],
)
def test_a_negative_duration_or_an_availability_outside_0_to_100_is_null_and_named(
    payload: dict[str, Any], field: str, sent: str, companion: str, why: str
) -> None:
    rows = mapped_with(payload, set_performance(**{field: sent}))
    # The text as sent is kept; its parsed companion is NULL.
    assert (rows.performance[field], rows.performance[companion]) == (sent, None)
    assert rows.problems == (f"performance.{field}: '{sent}' {why}",)


def test_a_data_id_that_differs_from_traceid_is_noted_and_traceid_kept(
    payload: dict[str, Any],
) -> None:
    rows = mapped_with(payload, set_data(id=577834))
    assert rows.traceability_id == 577833
    assert rows.problems == ()
    assert rows.notes == ("data.id 577834 differs from traceid 577833; traceid kept",)
    assert mapped_with(payload, set_data(id=577833)).notes == ()


def test_a_zone_less_vendor_time_is_read_in_the_vendor_zone(payload: dict[str, Any]) -> None:
    changed = copy.deepcopy(payload)
    changed["response"]["data"]["traceability_updated_on"] = "2026-03-19 09:51:46"
    answer = parse_response(json.dumps(changed))
    kolkata = rows_from_response(ASSET, answer).master["traceability_updated_on"]
    assert kolkata == datetime(2026, 3, 19, 4, 21, 46, tzinfo=UTC)
    berlin = rows_from_response(ASSET, answer, vendor_zone=ZoneInfo("Europe/Berlin"))
    assert berlin.master["traceability_updated_on"] == datetime(2026, 3, 19, 8, 51, 46, tzinfo=UTC)


# Values converted once and remembered: the same rows as converting them every time


def _workorder_cost(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["workorder_transactional"]["upto"].update(ticket_cost=value)


def test_a_bool_is_no_cost_even_after_the_number_it_equals_was_one(
    payload: dict[str, Any],
) -> None:
    # True == 1 and both hash alike: a bool must never find what the int 1 converted to.
    assert mapped_with(payload, _workorder_cost(1)).workorders[0]["ticket_cost"] == Decimal("1.00")
    rows = mapped_with(payload, _workorder_cost(True))
    assert rows.workorders[0]["ticket_cost"] is None
    assert rows.problems == (
        "workorder_transactional.upto.ticket_cost: True is not a decimal number",
    )


def test_a_value_that_does_not_parse_is_named_every_time_it_is_sent(
    payload: dict[str, Any],
) -> None:
    for _ in range(3):
        rows = mapped_with(payload, set_data(ticketcount="abc", barcode="  "))
        assert rows.master["ticketcount"] is None
        assert "barcode" not in rows.master
        assert rows.problems == ("data.ticketcount: 'abc' is not an integer",)
