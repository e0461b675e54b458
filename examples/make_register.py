"""Writes the sample asset register (asset_register.xlsx) and the simulator faults of the demo
(demo_faults.json) next to this file. The same output on every run: `python make_register.py`."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import openpyxl
from openpyxl.styles import Font

HERE = Path(__file__).resolve().parent
REGISTER = HERE / "asset_register.xlsx"
FAULTS = HERE / "demo_faults.json"
HEADERS = (
    "S.No",
    "Asset ID",
    "Asset Name",
    "Customer ID",
    "Customer Name",
    "Location Name",
    "Criticality",
)
SEED = 24463
# Fixed stamps so that running the generator again changes no byte of the workbook.
STAMP = datetime(2025, 1, 1)
ZIP_STAMP = (2025, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Site:
    customer_id: int
    customer_name: str
    id_prefix: str
    location_name: str
    # (code in the id, asset name, how many, criticality)
    equipment: tuple[tuple[str, str, int, str], ...]


PUMP_HOUSE = (
    ("BP", "Booster Pump", 6, "High"),
    ("CWP", "Clear Water Pump", 4, "High"),
    ("LTP", "LT Panel", 3, "High"),
    ("DG", "DG Set 250 kVA", 1, "Medium"),
    ("TX", "Transformer 1000 kVA", 1, "High"),
    ("CL", "Chlorinator", 2, "Medium"),
    ("EF", "Exhaust Fan", 2, "Low"),
)
TREATMENT_PLANT = (
    ("RWP", "Raw Water Pump", 6, "High"),
    ("BLW", "Air Blower", 4, "High"),
    ("SLP", "Sludge Pump", 4, "Medium"),
    ("LTP", "LT Panel", 4, "High"),
    ("VFD", "VFD Panel", 3, "Medium"),
    ("DG", "DG Set 500 kVA", 2, "Medium"),
    ("CR", "EOT Crane 5 T", 1, "Low"),
)
BUILDING = (
    ("CH", "Water Cooled Chiller 400 TR", 3, "High"),
    ("CT", "Cooling Tower", 3, "Medium"),
    ("AHU", "Air Handling Unit", 8, "Medium"),
    ("LIFT", "Passenger Lift", 4, "High"),
    ("LTP", "LT Panel", 4, "High"),
    ("FP", "Fire Pump", 2, "High"),
    ("DG", "DG Set 1010 kVA", 2, "High"),
    ("UPS", "UPS 60 kVA", 2, "Medium"),
)

SITES = (
    Site(24463, "DJB Khyala", "Delhi Cantt Naraina", "Naraina D.Cantt UGR_Zone", PUMP_HOUSE),
    Site(24463, "DJB Khyala", "Khyala Phase 2", "Khyala Phase-II UGR", PUMP_HOUSE),
    Site(24463, "DJB Khyala", "Janakpuri C4", "Janakpuri C-4 BPS", PUMP_HOUSE),
    Site(24463, "DJB Khyala", "Vikaspuri KG1", "Vikaspuri KG-1 UGR", PUMP_HOUSE),
    Site(24463, "DJB Khyala", "Tilak Nagar", "Tilak Nagar BPS", PUMP_HOUSE),
    Site(24463, "DJB Khyala", "Hari Nagar", "Hari Nagar BPS", PUMP_HOUSE),
    Site(24518, "DJB Okhla", "Kalkaji", "Kalkaji UGR", PUMP_HOUSE),
    Site(24518, "DJB Okhla", "Govindpuri", "Govindpuri BPS", PUMP_HOUSE),
    Site(24518, "DJB Okhla", "Okhla STP Ph4", "Okhla STP Phase-IV", TREATMENT_PLANT),
    Site(24518, "DJB Okhla", "Kondli STP", "Kondli STP 45 MGD", TREATMENT_PLANT),
    Site(24518, "DJB Okhla", "Sonia Vihar WTP", "Sonia Vihar WTP", TREATMENT_PLANT),
    Site(25102, "NDMC Estates", "Palika Kendra", "Palika Kendra Tower", BUILDING),
    Site(25102, "NDMC Estates", "Yashwant Place", "Yashwant Place Complex", BUILDING),
    Site(
        25710, "Apollo Hospitals Delhi", "Apollo Sarita Vihar", "Sarita Vihar Main Block", BUILDING
    ),
)


def register_rows() -> list[tuple[object, ...]]:
    rng = random.Random(SEED)
    rows: list[tuple[object, ...]] = []
    for site in SITES:
        for code, name, count, criticality in site.equipment:
            for n in range(1, count + 1):
                asset_id = f"{site.id_prefix}_{code}_{n:02d}"
                # A real register is not complete: some criticality cells were never filled in.
                left_blank = rows and rng.random() < 0.06
                rows.append(
                    (
                        len(rows) + 1,
                        asset_id,
                        f"{name} {n}",
                        site.customer_id,
                        site.customer_name,
                        site.location_name,
                        None if left_blank else criticality,
                    )
                )
    return rows


def demo_faults(rows: list[tuple[object, ...]]) -> dict[str, object]:
    """A few assets the simulator answers badly, spread over the register; the first asset
    (the one of the spec's sample answer) always succeeds."""
    kinds: list[object] = [
        "not_found",
        {"kind": "unavailable", "times": 1},
        "status_false",
        {"kind": "rate_limited", "retry_after": 1, "times": 1},
        "non_json",
        "bad_numbers",
        "other_serial",
        {"kind": "unavailable", "times": 2},
    ]
    step = len(rows) // (len(kinds) + 1)
    return {str(rows[step * (i + 1)][1]): kind for i, kind in enumerate(kinds)}


def workbook_bytes(rows: list[tuple[object, ...]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Asset Register"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    for letter, width in zip("ABCDEFG", (7, 32, 30, 12, 24, 28, 11), strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    workbook.properties.creator = "IC3 Operations"
    workbook.properties.created = STAMP
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _without_timestamps(buffer.getvalue())


def _without_timestamps(xlsx: bytes) -> bytes:
    """openpyxl stamps the save time into the workbook and its zip entries; pin both."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(xlsx)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(<)",
                    rb"\g<1>" + STAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>",
                    data,
                )
            target.writestr(zipfile.ZipInfo(info.filename, ZIP_STAMP), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def main() -> None:
    rows = register_rows()
    REGISTER.write_bytes(workbook_bytes(rows))
    FAULTS.write_text(json.dumps(demo_faults(rows), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(rows)} assets to {REGISTER.name} and {FAULTS.name}")


if __name__ == "__main__":
    main()
