"""What people call each stored value: the label a file's header or a page shows, what it
means, and the order a planner reads the register in (who and where first, ids last). One
table for every place that shows a column to a person: the workbook's headers and its
"Columns" sheet, the change history's field names. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Label:
    """One column as people read it: `key` is its name in a row ("building_name",
    "upto.ticket_count", "mttr_seconds"), `label` its header, `meaning` what it holds and in
    what unit. `source` is the database column (table.column) where no query says it."""

    key: str
    label: str
    meaning: str
    source: str = ""


def _work_orders(period: str, words: str) -> tuple[Label, ...]:
    return (
        Label(f"{period}.ticket_count", f"Tickets ({words})", f"tickets, {words}"),
        Label(f"{period}.ticket_cost", f"Ticket cost ({words})", f"cost of the tickets, {words}"),
        Label(f"{period}.schedule_count", f"Schedules ({words})", f"scheduled jobs, {words}"),
        Label(
            f"{period}.schedule_cost",
            f"Schedule cost ({words})",
            f"cost of the scheduled jobs, {words}",
        ),
        Label(f"{period}.work_estimate_count", f"Estimates ({words})", f"work estimates, {words}"),
        Label(
            f"{period}.work_estimate_cost",
            f"Estimate cost ({words})",
            f"cost of the work estimates, {words}",
        ),
    )


def _hours(key: str, label: str, what: str) -> Label:
    return Label(key, f"{label} (h)", f"{what}, in hours (stored in seconds)")


# The register's columns in the order a planner reads them: the asset and where it is, what it
# is, how it performs and what it cost, then the values as Innomaint sent them, the register's
# own stamps, and the technical ids last. A column missing here goes after them, under its
# database name (a test keeps this table whole).
REGISTER: Final[tuple[Label, ...]] = (
    Label("cmms_asset_id", "Asset ID", "the Innomaint asset id (the register's key)"),
    Label("asset_name", "Name", "the asset's name in the register"),
    Label("report_seq_no", "Serial no.", "the register's order of the asset"),
    Label("customer_name", "Customer", "the customer the asset belongs to"),
    Label("location_name", "Location", "the customer's location (site)"),
    Label("building_name", "Building", "the building the asset is in"),
    Label("floor_name", "Floor", "the floor the asset is on"),
    Label("department_name", "Department", "the department the asset serves"),
    Label("criticality", "Criticality", "how critical the asset is, as Innomaint rates it"),
    Label("criticality_type_label", "Criticality type", "the criticality of the performance"),
    Label("in_charge_person", "In charge", "the person in charge of the asset"),
    Label("equipments_name", "Equipment", "the kind of equipment"),
    Label("equipment_model_name", "Model", "the equipment's model"),
    Label("capacity_rating", "Capacity", "the asset's capacity rating, as written"),
    Label("barcode", "Barcode", "the asset's barcode"),
    Label("installation_date", "Installed", "the date the asset was installed"),
    Label("year_of_manufacturing", "Made in", "the year the asset was made"),
    Label("last_synced_at", "Last synced", "when the last sync of the asset stored its values"),
    Label("traceability_updated_on", "Updated at Innomaint", "when Innomaint last changed it"),
    _hours("mttr_seconds", "MTTR", "mean time to repair"),
    _hours("mtbf_seconds", "MTBF", "mean time between failures"),
    Label("availability_pct", "Availability (%)", "the share of time available, 0-100"),
    _hours("total_actual_seconds", "Actual hours", "hours of work recorded"),
    _hours("total_ticket_breakdown_seconds", "Ticket breakdown", "breakdown time of tickets"),
    _hours("total_schedule_breakdown_seconds", "Schedule breakdown", "breakdown time of jobs"),
    Label("total_ticket", "Tickets (performance)", "tickets counted by the performance report"),
    Label(
        "asset_created_at",
        "Created at Innomaint",
        "when the asset was created at Innomaint, in Innomaint's own time (INNOMAINT_TIMEZONE)",
    ),
    *_work_orders("upto", "to date"),
    *_work_orders("last_year", "last year"),
    Label("ticketcount", "Ticket count (asset)", "tickets counted on the asset record"),
    Label("schedulecount", "Schedule count (asset)", "schedules counted on the asset record"),
    Label("schedule_configured", "Schedule configured", "1 when a schedule is configured"),
    Label("schedule_initiate", "Schedule initiated", "1 when a schedule was initiated"),
    Label("iot_device_mapped", "IoT device mapped", "1 when an IoT device is mapped"),
    Label("status", "Status (Innomaint)", "the asset's status code at Innomaint"),
    Label("asset_live_status", "Live status", "the asset's live status code"),
    Label("mapping_status", "Mapping status", "the status code of the asset's mapping"),
    Label("traceability_status", "Traceability status", "the traceability status code"),
    Label("is_loaner", "Loaner", "1 when the asset is on loan"),
    Label("is_ble_tracking", "BLE tracking", "1 when tracked by Bluetooth"),
    Label("is_rfid_tracking", "RFID tracking", "1 when tracked by RFID"),
    Label("is_qr_tracking", "QR tracking", "1 when tracked by QR code"),
    Label("is_tracking_enabled", "Tracking enabled", "1 when tracking is on"),
    Label("mttr", "MTTR as sent", "MTTR as Innomaint sent it (H:MM:SS)"),
    Label("mtbf", "MTBF as sent", "MTBF as Innomaint sent it (H:MM:SS)"),
    Label("availability", "Availability as sent", "availability as Innomaint sent it"),
    Label("total_actual_hrs", "Actual hours as sent", "actual hours as Innomaint sent them"),
    Label(
        "total_ticket_breakdown_hrs",
        "Ticket breakdown as sent",
        "ticket breakdown hours as Innomaint sent them",
    ),
    Label(
        "total_schedule_breakdown_hrs",
        "Schedule breakdown as sent",
        "schedule breakdown hours as Innomaint sent them",
    ),
    Label(
        "asset_created_date",
        "Created at Innomaint as sent",
        "the creation time as Innomaint sent it (DD/MM/YYYY HH:MM)",
    ),
    Label("sync_version", "Stored version", "how many syncs stored the asset's values"),
    Label("recorded_at", "Performance stored", "when the performance values were stored"),
    Label("created_at", "Added to the register", "when the asset was first imported"),
    Label("updated_at", "Register row updated", "when the asset's register row last changed"),
    Label("customer_id", "Customer id", "Innomaint's id of the customer"),
    Label("location_id", "Location id", "Innomaint's id of the location"),
    Label("building_id", "Building id", "Innomaint's id of the building"),
    Label("floor_id", "Floor id", "Innomaint's id of the floor"),
    Label("department_id", "Department id", "Innomaint's id of the department"),
    Label("asset_building_id", "Asset building id", "the asset's own building mapping id"),
    Label("asset_floor_id", "Asset floor id", "the asset's own floor mapping id"),
    Label("asset_department_id", "Asset department id", "the asset's own department mapping id"),
    Label("traceability_id", "Traceability id", "Innomaint's traceability id of the asset"),
    Label(
        "fk_customers_equipment_mapping_id",
        "Equipment mapping id",
        "Innomaint's id of the customer's equipment mapping",
    ),
    Label(
        "customers_locations_serialnumber_mapping_id",
        "Serial number mapping id",
        "Innomaint's id of the location's serial number mapping",
    ),
    Label("customer_traceability_id", "Customer traceability id", "Innomaint's id"),
    Label("customer_model_id", "Customer model id", "Innomaint's id"),
    Label("location_traceability_id", "Location traceability id", "Innomaint's id"),
    Label("location_model_id", "Location model id", "Innomaint's id"),
    Label("asset_id", "Internal id", "ic3sync's own row id of the asset"),
)

# A run's failed log rows (cmms_sync_log), as the failures sheets show them.
FAILURES: Final[tuple[Label, ...]] = (
    Label("cmms_asset_id", "Asset ID", "the asset that failed", "cmms_sync_log.cmms_asset_id"),
    Label("synced_at", "At", "when the asset's sync ended", "cmms_sync_log.synced_at"),
    Label("http_status", "HTTP status", "Innomaint's HTTP status", "cmms_sync_log.http_status"),
    Label("error_message", "Reason", "why the sync failed", "cmms_sync_log.error_message"),
    Label("attempts", "Attempts", "requests made, retries included", "cmms_sync_log.attempts"),
    Label("run_id", "Run", "the run (ic3sync runs show N)", "cmms_sync_log.run_id"),
    Label(
        "customer_id", "Customer id", "Innomaint's id of the customer", "cmms_sync_log.customer_id"
    ),
)

# What needs a person (ic3sync.attention.attention_rows), one row per asset or unusable value.
ATTENTION: Final[tuple[Label, ...]] = (
    Label("what", "Needs attention", "which list the row is on", "cmms_sync_log.status"),
    Label("cmms_asset_id", "Asset ID", "the asset", "ic3_asset_master.cmms_asset_id"),
    Label("asset_name", "Name", "the asset's name in the register", "ic3_asset_master.asset_name"),
    Label(
        "field",
        "Field",
        "the value Innomaint sent that could not be used (stored as NULL)",
        "cmms_sync_log.error_message",
    ),
    Label("reason", "Reason", "why, in a few words", "cmms_sync_log.error_message"),
    Label(
        "runs", "Full runs failed", "full runs in a row the asset failed", "cmms_sync_log.run_id"
    ),
    Label(
        "since_at", "Failing since", "the first failure of the streak", "cmms_sync_log.synced_at"
    ),
    Label(
        "detail",
        "Detail",
        "the failure's message, or what Innomaint sent",
        "cmms_sync_log.error_message",
    ),
)

# The change history (ic3_asset_change); "field" is the label of the changed column.
CHANGES: Final[tuple[Label, ...]] = (
    Label("changed_at", "Changed at", "when it was stored", "ic3_asset_change.changed_at"),
    Label("cmms_asset_id", "Asset ID", "the asset", "ic3_asset_change.cmms_asset_id"),
    Label(
        "field",
        "Field",
        "the changed value, as the Columns sheet names it",
        "ic3_asset_change.column_name",
    ),
    Label(
        "old_value", "Old value", "the value before (as stored, text)", "ic3_asset_change.old_value"
    ),
    Label(
        "new_value", "New value", "the value after (as stored, text)", "ic3_asset_change.new_value"
    ),
    Label(
        "source",
        "Source",
        "cmms: a sync stored Innomaint's value; register: an import took the sheet's",
        "ic3_asset_change.source",
    ),
    Label(
        "run_id", "Run", "the run that changed it (none for an import)", "ic3_asset_change.run_id"
    ),
    Label("table_name", "Table", "the table of the value", "ic3_asset_change.table_name"),
    Label("column_name", "Column", "the column of the value", "ic3_asset_change.column_name"),
)

_BY_KEY: Final[dict[str, Label]] = {x.key: x for x in REGISTER}
# The history records the performance values as sent and their parsed companions not at all.
_CHANGED_WORDS: Final[dict[str, str]] = {
    "mttr": "MTTR",
    "mtbf": "MTBF",
    "availability": "Availability",
    "total_actual_hrs": "Actual hours",
    "total_ticket_breakdown_hrs": "Ticket breakdown",
    "total_schedule_breakdown_hrs": "Schedule breakdown",
    "asset_created_date": "Created at Innomaint",
}


def label(key: str) -> str:
    """The label of a register column or of a column the change history names
    ("last_year.work_estimate_count" -> "Estimates (last year)"); the name itself when it has
    none."""
    if key in _CHANGED_WORDS:
        return _CHANGED_WORDS[key]
    found = _BY_KEY.get(key)
    return found.label if found is not None else key


def register_order(keys: list[str]) -> list[str]:
    """`keys` in the order of REGISTER, any it does not know at the end in their own order."""
    place = {x.key: i for i, x in enumerate(REGISTER)}
    return sorted(keys, key=lambda k: place.get(k, len(place)))


def register_label(key: str) -> Label:
    """The register column's Label; one naming the database column for a column not listed."""
    return _BY_KEY.get(key) or Label(key, key, "")
