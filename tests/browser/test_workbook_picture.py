"""A picture of an exported workbook's first rows for docs/getting-started.md: `ic3sync export
--xlsx` of a synced register, read back with openpyxl, drawn as a spreadsheet grid in headless
Chromium: its headers, its column letters, its column widths and its cells as their number formats
show them, all from the file. The grid is checked against the workbook, and every value fits its
column, before the screenshot is taken."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from playwright.sync_api import Page

from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets
from tests.procs import base_env, run_cli

IDS = [
    "Delhi Cantt Naraina_BP_01",
    *(f"Plant {i:02d}_PUMP_{i:02d}" for i in range(1, 8)),
]
# A few of the register's columns, under the headers the file gives them, in the file's order
# (a test below checks it is).
SHOWN = (
    "Asset ID",
    "Name",
    "Customer",
    "Building",
    "Floor",
    "Criticality",
    "Last synced (Asia/Kolkata)",
    "MTBF (h)",
    "Availability (%)",
    "Ticket cost (to date)",
    "Tickets (last year)",
)
ROWS = 8
STYLE = """
body { font: 13px Calibri, 'Liberation Sans', Arial, sans-serif; margin: 12px; }
#sheet { display: inline-block; padding: 4px; }
table { border-collapse: collapse; table-layout: fixed; }
td, th { border: 1px solid #d4d4d4; padding: 2px 3px; white-space: nowrap; overflow: hidden;
  box-sizing: border-box; }
th.col, th.rownum { background: #f0f0f0; color: #555; font-weight: normal; }
th.rownum { width: 32px; }
td.num { text-align: right; }
td.hdr { font-weight: bold; white-space: normal; vertical-align: top; position: relative;
  padding-right: 16px; height: 40px; }
td.hdr::after { content: '\\25BE'; color: #777; font-size: 11px; position: absolute; right: 3px;
  bottom: 2px; }
tr.frozen td { border-bottom: 2px solid #8a8a8a; }
.tabs { margin-top: 6px; }
.tab { padding: 3px 12px; border: 1px solid #ccc; margin-right: 2px; color: #555; }
.tab.on { border-top: 2px solid #217346; color: #217346; font-weight: bold; }
"""


def shown_as(cell: Any) -> str:
    """A cell's value as Excel shows it with its number format."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(
            "%Y-%m-%d" if cell.number_format == "yyyy-mm-dd" else "%Y-%m-%d %H:%M:%S"
        )
    if cell.number_format == "0.00":
        return f"{value:.2f}"
    if cell.number_format == "#,##0.00":
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def pixels(width: float) -> int:
    """A column's width in characters as Excel draws it in pixels (Calibri 11: 7 px a
    character and 5 of padding)."""
    return int(width * 7 + 5)


def grid(ws: Any, header: list[str]) -> str:
    picked = [header.index(name) + 1 for name in SHOWN]
    assert picked == sorted(picked)
    cols = "".join(
        f"<col style='width:{pixels(ws.column_dimensions[get_column_letter(i)].width)}px'>"
        for i in picked
    )
    head = "".join(f"<th class=col>{get_column_letter(i)}</th>" for i in picked)
    rows = [
        f"<colgroup><col style='width:32px'>{cols}</colgroup><tr><th class=rownum></th>{head}</tr>"
    ]
    for r in range(1, ROWS + 2):
        cells = []
        for i in picked:
            cell = ws.cell(r, i)
            numeric = isinstance(cell.value, int | float) and not isinstance(cell.value, bool)
            cls = (
                "hdr" if r == 1 else ("num" if numeric or isinstance(cell.value, datetime) else "")
            )
            cells.append(f"<td class='{cls}'>{html.escape(shown_as(cell))}</td>")
        frozen = " class=frozen" if r == 1 else ""
        rows.append(f"<tr{frozen}><th class=rownum>{r}</th>{''.join(cells)}</tr>")
    tabs = "".join(
        f"<span class='tab{' on' if n == ws.title else ''}'>{html.escape(n)}</span>"
        for n in ws.parent.sheetnames
    )
    table = "".join(rows)
    return (
        f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>"
        f"<div id=sheet><table id=grid>{table}</table><div class=tabs>{tabs}</div></div>"
    )


def test_the_exported_workbook_drawn_for_the_readme(migrated_db_url, page: Page, tmp_path, shots):
    from ic3sync.db.engine import make_engine

    db_url = migrated_db_url
    engine = make_engine(db_url)
    seed_assets(engine, IDS)
    with Simulator(SimulatorConfig(token=TOKEN)) as sim, client_for(sim.url) as client:
        assert run_sync(engine, client, trigger="cli").success == len(IDS)
    engine.dispose()
    book = tmp_path / "register.xlsx"
    done = run_cli("export", "--xlsx", str(book), env=base_env(db_url, IC3_TIMEZONE="Asia/Kolkata"))
    assert done.returncode == 0, done.stderr

    wb = openpyxl.load_workbook(book)
    ws = wb["Register"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    header = [c.value for c in ws[1]]
    page.set_viewport_size({"width": 1500, "height": 600})
    page.set_content(grid(ws, header))
    # The columns are as wide as the file makes them, and every value fits its column: no time
    # would show as "#####".
    for name, th in zip(SHOWN, page.locator("#grid tr").first.locator("th.col").all(), strict=True):
        letter = get_column_letter(header.index(name) + 1)
        assert th.inner_text() == letter
        want = pixels(ws.column_dimensions[letter].width)
        assert abs(th.evaluate("e => e.getBoundingClientRect().width") - want) <= 1, name
    overflowing = page.eval_on_selector_all(
        "#grid td:not(.hdr)", "cells => cells.filter(c => c.scrollWidth > c.clientWidth).length"
    )
    assert overflowing == 0
    # What the picture shows is what the workbook holds.
    drawn = page.locator("#grid tr").all()
    assert len(drawn) == ROWS + 2
    for r, row in enumerate(drawn[1:], start=1):
        texts = row.locator("td").all_inner_texts()
        want = [shown_as(ws.cell(r, header.index(name) + 1)) for name in SHOWN]
        assert [t.replace(" ▾", "").strip() for t in texts] == want, (r, texts, want)
    assert drawn[2].locator("td").first.inner_text() == IDS[0]
    if "postgresql" in db_url:
        page.locator("#sheet").screenshot(path=shots / "export-workbook.png")
