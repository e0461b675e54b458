"""The pure comparison behind the field-level history: values compared as stored, in one text
form whichever backend returned them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import sqlalchemy as sa

from ic3sync.db.changes import Change, Stored, diff, stored_text


def _rows(**kw):  # type: ignore[no-untyped-def]
    base = {
        "master": {},
        "building": None,
        "floor": None,
        "department": None,
        "performance": {},
        "workorders": (),
    }
    return SimpleNamespace(**{**base, **kw})


def _stored(values, synced_before=True):  # type: ignore[no-untyped-def]
    return Stored.of(synced_before, values)


def test_numbers_are_compared_at_their_columns_scale():
    money = sa.Numeric(14, 2)
    assert stored_text(Decimal("1250.5"), money) == "1250.50"
    assert stored_text(1250.5, money) == "1250.50"  # SQLite's REAL
    assert stored_text(Decimal("0.005"), money) == "0.01"
    assert stored_text(Decimal("-0.005"), money) == "-0.01"
    assert stored_text(7, sa.BigInteger()) == "7"


def test_instants_are_compared_in_utc_whatever_zone_they_come_back_in():
    tz = sa.DateTime(timezone=True)
    ist = timezone(timedelta(hours=5, minutes=30))
    aware = datetime(2026, 3, 19, 9, 51, 46, tzinfo=ist)
    naive_utc = datetime(2026, 3, 19, 4, 21, 46)  # as SQLite hands it back
    assert stored_text(aware, tz) == stored_text(naive_utc, tz) == "2026-03-19T04:21:46+00:00"
    assert stored_text(date(2020, 5, 1), sa.Date()) == "2020-05-01"
    assert stored_text(None, tz) is None


def test_a_baseline_records_nothing_even_when_everything_differs():
    rows = _rows(master={"criticality": "High"})
    assert diff(_stored({("ic3_asset_master", "criticality"): "Low"}, False), rows) == []
    assert diff(None, rows) == []


def test_changed_values_are_reported_and_equal_ones_are_not():
    stored = _stored(
        {
            ("ic3_asset_master", "criticality"): "Low",
            ("ic3_asset_master", "ticketcount"): 4,
            ("ic3_asset_performance", "mttr"): "10:00:00",
            ("ic3_workorder_summary", "last_year.ticket_cost"): Decimal("10.00"),
            ("ic3_floor_master", "floor_name"): "Ground",
        }
    )
    rows = _rows(
        master={"criticality": "High", "ticketcount": 4, "floor_id": 3},
        floor={"floor_id": 3, "floor_name": "First"},
        performance={"serialnumber": "X", "mttr": "10:00:00", "mttr_seconds": 36000},
        workorders=({"period_type": "last_year", "ticket_cost": Decimal("10.5")},),
    )
    assert diff(stored, rows) == [
        Change("ic3_asset_master", "criticality", "Low", "High"),
        Change("ic3_asset_master", "floor_id", None, "3"),
        Change("ic3_floor_master", "floor_name", "Ground", "First"),
        Change("ic3_workorder_summary", "last_year.ticket_cost", "10.00", "10.50"),
    ]


def test_a_value_absent_from_the_rows_is_no_change_and_an_unparseable_one_is():
    stored = _stored(
        {("ic3_asset_master", "criticality"): "From Excel", ("ic3_asset_master", "status"): 1}
    )
    # criticality was empty in the answer (absent: kept); status did not parse (None: written).
    rows = _rows(master={"status": None})
    assert diff(stored, rows) == [Change("ic3_asset_master", "status", "1", None)]


def test_the_same_instant_from_either_backend_is_no_change():
    stored = _stored({("ic3_asset_master", "traceability_updated_on"): datetime(2026, 1, 2, 3)})
    rows = _rows(master={"traceability_updated_on": datetime(2026, 1, 2, 3, tzinfo=UTC)})
    assert diff(stored, rows) == []
