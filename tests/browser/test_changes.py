"""The change history in the dashboard, in real headless Chromium against `ic3sync serve`: an
asset's timeline, what a run changed grouped by column, the overview's last 7 days, and the
workbook downloads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import openpyxl
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from ic3sync.db.schema import asset_master, asset_performance, workorder_summary
from ic3sync.innomaint.simulator import asset_payload
from tests.browser.support import FAST, NOT_FOUND, TIMEZONE, Dashboard, log_in
from tests.e2e.conftest import PREFIX

Serve = Callable[..., Dashboard]
ASSET = FAST[0]
TICKETS_EDITED = FAST[:12]
UNTOUCHED = FAST[15]


def _two_runs(dash: Dashboard) -> int:
    """A baseline run, stored values edited as if the CMMS had them before, a second run."""
    assert dash.server.http.post(f"{PREFIX}/sync").status_code == 200
    with dash.engine.begin() as conn:
        asset_id = conn.execute(
            sa.select(asset_master.c.asset_id).where(asset_master.c.cmms_asset_id == ASSET)
        ).scalar_one()
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id.in_(FAST[:3]))
            .values(criticality="Was-Low", in_charge_person="R. Sharma")
        )
        conn.execute(
            sa.update(asset_performance)
            .where(asset_performance.c.asset_id == asset_id)
            .values(mttr="10:00:00")
        )
        edited = sa.select(asset_master.c.asset_id).where(
            asset_master.c.cmms_asset_id.in_(TICKETS_EDITED)
        )
        conn.execute(
            sa.update(workorder_summary)
            .where(
                workorder_summary.c.period_type == "upto",
                workorder_summary.c.asset_id.in_(edited),
            )
            .values(ticket_count=-1)
        )
    second = dash.server.http.post(f"{PREFIX}/sync")
    assert second.status_code == 200
    return second.json()["run_id"]


def test_the_asset_timeline_the_runs_changes_and_the_downloads(
    serve_dashboard: Serve, page: Page, shots, tmp_path, request
) -> None:
    dash = serve_dashboard()
    run_id = _two_runs(dash)
    data = asset_payload(ASSET)["response"]
    log_in(page, dash, "/assets/" + quote(ASSET, safe=""))

    timeline = page.locator("#asset-changes")
    expect(timeline.locator(".timeline-entry")).to_have_count(1)
    expect(timeline.locator(".timeline-when")).to_contain_text(f"run {run_id}")
    entry = timeline.locator(".changes li", has=page.locator(".change-column", has_text="MTTR"))
    expect(entry.locator("del")).to_have_text("10:00:00")
    expect(entry.locator("ins")).to_have_text(data["performance"]["mttr"])
    crit = timeline.locator(
        ".changes li", has=page.locator(".change-column", has_text="Criticality")
    )
    expect(crit.locator("del")).to_have_text("Was-Low")
    expect(crit.locator("ins")).to_have_text(data["data"]["criticality"])
    expect(timeline).to_contain_text("Tickets (to date)")
    # The label reads as in the tables; the database name is one hover away.
    expect(entry.locator(".change-column")).to_have_attribute("title", "ic3_asset_performance.mttr")
    backend = request.node.callspec.params["db_url"]
    if backend == "postgresql":
        timeline.scroll_into_view_if_needed()
        page.screenshot(path=shots / "dashboard-asset-changes.png", full_page=True)

    # An asset whose stored values matched at both syncs has no entry.
    page.goto(dash.url + "/assets/" + quote(UNTOUCHED, safe=""))
    expect(page.locator("#asset-changes")).to_contain_text("No change recorded")
    expect(page.locator("#asset-changes .timeline-entry")).to_have_count(0)

    page.goto(f"{dash.url}/runs/{run_id}")
    section = page.locator("#run-changes")
    counts = {
        row.locator("th").inner_text(): [int(x) for x in row.locator("td").all_inner_texts()]
        for row in section.locator("table.change-counts tbody tr").all()
    }
    assert counts["Criticality"] == [3, 3] and counts["In charge"] == [3, 3], counts
    assert counts["MTTR"] == [1, 1] and counts["Tickets (to date)"] == [12, 12], counts
    # Most changed column first, and open.
    first = section.locator("details.column-changes").first
    expect(first).to_have_attribute("id", "col-upto.ticket_count")
    expect(first).to_have_attribute("open", "")
    section.locator("details#col-criticality summary").click()
    expect(section.locator("details#col-criticality")).to_have_attribute("open", "")
    expect(section.locator("details#col-criticality tbody tr")).to_have_count(3)
    expect(section.locator("details#col-criticality del").first).to_have_text("Was-Low")
    if backend == "postgresql":
        page.set_viewport_size({"width": 1280, "height": 1400})
        section.scroll_into_view_if_needed()
        section.screenshot(path=shots / "dashboard-run-changes.png")
        page.set_viewport_size({"width": 1280, "height": 900})

    # The run's failures as a workbook.
    with page.expect_download() as got:
        section.get_by_role("link", name="Download this run's failures (.xlsx)").click()
    path = tmp_path / "failures.xlsx"
    got.value.save_as(path)
    ws = openpyxl.load_workbook(path).active
    failed = [r for r in ws.iter_rows(min_row=2, values_only=True)]
    assert NOT_FOUND in {r[0] for r in failed}
    assert all(isinstance(r[5], int) and r[5] == run_id for r in failed)

    # The overview: the last 7 days by column, and the register as a download.
    page.goto(dash.url + "/")
    recent = page.locator("#recent-changes")
    expect(recent.locator("tbody tr", has_text="criticality")).to_contain_text("3")
    with page.expect_download() as got:
        recent.get_by_role("link", name="Download the register (.xlsx)").click()
    book = tmp_path / "register.xlsx"
    got.value.save_as(book)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [
        "Register",
        "Failures of the last full run",
        "Changes (last 30 days)",
        "Needs attention",
        "Columns",
    ]
    header = next(wb["Register"].iter_rows(max_row=1, values_only=True))
    ids = [
        r[header.index("Asset ID")] for r in wb["Register"].iter_rows(min_row=2, values_only=True)
    ]
    assert (
        ASSET in ids and len(ids) == dash.server.http.get(f"{PREFIX}/runs/{run_id}").json()["total"]
    )
    assert wb["Changes (last 30 days)"].max_row - 1 == sum(c[0] for c in counts.values())

    # The register as it stood at the end of today is today's; a day to come is refused.
    today = datetime.now(ZoneInfo(TIMEZONE)).date().isoformat()
    recent.get_by_label("The register as it stood at the end of").fill(today)
    with page.expect_download() as got:
        recent.get_by_role("button", name="Download (.xlsx)").click()
    assert got.value.suggested_filename.endswith(f"as-of-{today}.xlsx")
    got.value.save_as(tmp_path / "then.xlsx")
    rebuilt = openpyxl.load_workbook(tmp_path / "then.xlsx")
    assert rebuilt.sheetnames == [f"Register on {today}", "About this file", "Columns"]
    assert rebuilt.worksheets[0].max_row - 1 == len(ids)
    later = page.request.get(f"{dash.url}/export.xlsx?as_of=2999-01-01")
    assert later.status == 400 and "2999-01-01 is in the future" in later.text()
