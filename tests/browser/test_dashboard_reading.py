"""The dashboard as people read it, at 1280 and 390 px: axe-core finds nothing on the overview, a
run's page, an asset's page, the assets list and "Needs attention"; ids, barcodes and times stay
whole; wide tables show that they scroll; one duration formatter; a long list of unparsed values
folds into a count."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from playwright.sync_api import Page, expect

from ic3sync.api.present import PLOT_RIGHT
from tests.browser.support import FAST, GARBLED, REGISTER, Dashboard, axe_violations, log_in
from tests.e2e.conftest import PREFIX

Serve = Callable[..., Dashboard]
ASSET = FAST[0]
PAGES = {
    "overview": "/",
    "run": "/runs/1",
    "asset": "/assets/" + quote(ASSET, safe=""),
    "garbled": "/assets/" + quote(GARBLED, safe=""),
    "assets": "/assets?sort=last_sync",
    "attention": "/attention?runs=1",
}
TIME_IN_ZONE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d IST$")

# The words (runs of non-spaces) of each matching element that the layout split over lines.
BROKEN_TOKENS = """(selector) => {
    const broken = [];
    for (const el of document.querySelectorAll(selector)) {
        if (!el.offsetParent) continue;  // hidden at this width
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.textContent.matchAll(/\\S+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (tops.size > 1) broken.push(m[0]);
            }
        }
    }
    return broken;
}"""

# Tables wider than their box, and whether each shows it (scrolls, with the shadow cue).
HIDDEN_TABLES = """() => [...document.querySelectorAll("table")]
    .filter(t => t.scrollWidth > t.parentElement.clientWidth + 1)
    .map(t => {
        const box = getComputedStyle(t.parentElement);
        return [t.className || "table", box.overflowX, box.backgroundImage.includes("gradient")];
    })"""


def test_axe_finds_nothing_and_every_page_reads_whole_at_both_widths(
    serve_dashboard: Serve, page: Page, shots: Path
) -> None:
    dash = serve_dashboard(extra_ids=(GARBLED,))
    for params in ({"batch": len(REGISTER) + 1}, {"batch": 5}):
        done = dash.server.http.post(f"{PREFIX}/sync", params=params)
        assert done.status_code == 200, done.text
    log_in(page, dash)
    # A run over every asset (the API's always has a batch), so that "Needs attention" lists
    # the assets that failed it.
    page.get_by_role("button", name="Start the sync").click()
    page.wait_for_url(re.compile(r"/runs/3$"))
    dash.server.wait_for_run(3, lambda run: run["status"] != "running")
    violations, broken, hidden = {}, {}, {}
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in PAGES.items():
            page.goto(dash.url + path)
            where = f"{name} at {width} px"
            violations[where] = axe_violations(page)
            broken[where] = page.evaluate(BROKEN_TOKENS, "time, .token, table.log td:first-child")
            hidden[where] = [t for t in page.evaluate(HIDDEN_TABLES) if t[1:] != ["auto", True]]
            assert page.evaluate("document.documentElement.scrollWidth") <= width, where
            page.screenshot(path=shots / f"dashboard-{name}-{width}.png", full_page=True)
    for found in (violations, broken, hidden):
        assert not any(found.values()), {where: v for where, v in found.items() if v}


def test_the_chart_gives_durations_their_own_axis_and_no_label_is_clipped(
    serve_dashboard: Serve, page: Page
) -> None:
    dash = serve_dashboard(extra_ids=(GARBLED,))
    for params in ({"batch": len(REGISTER) + 1}, {"batch": 3}):
        assert dash.server.http.post(f"{PREFIX}/sync", params=params).status_code == 200
    log_in(page, dash)
    # A run over every asset, from the dashboard's form: the last-run card shows full runs.
    page.get_by_role("button", name="Start the sync").click()
    page.wait_for_url(re.compile(r"/runs/3$"))
    dash.server.wait_for_run(3, lambda run: run["status"] != "running")
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(dash.url + "/")
        boxes = page.evaluate(
            """() => [...document.querySelectorAll("#runs-chart svg text.tick")].map(t => {
                const b = t.getBBox();
                return [t.textContent, t.classList.contains("duration-tick"), b.x, b.x + b.width];
            })"""
        )
        counts = [b for b in boxes if not b[1] and not b[0].startswith("run")]
        durations = [b for b in boxes if b[1]]
        assert {b[0] for b in counts} == {str(len(REGISTER) + 1), "0"}, boxes
        assert all(left >= 0 for _, _, left, _ in counts), f"clipped at {width} px: {boxes}"
        assert len(durations) == 2 and all(left > PLOT_RIGHT for _, _, left, _ in durations)
        assert all(right <= 960 for _, _, _, right in durations), f"clipped: {boxes}"
        expect(page.locator("#last-run")).to_contain_text("Total")
        expect(page.locator("#last-run dt", has_text=re.compile("^Of$"))).to_have_count(0)


def test_durations_times_and_unparsed_values_read_the_same_everywhere(
    serve_dashboard: Serve, page: Page
) -> None:
    dash = serve_dashboard(extra_ids=(GARBLED,))
    assert dash.server.http.post(f"{PREFIX}/sync", params={"batch": 30}).status_code == 200
    log_in(page, dash)

    page.goto(dash.url + "/runs/1")
    row = page.locator("table.log tbody tr", has_text=ASSET)
    on_run_page = row.locator("td").nth(5).inner_text()  # Took
    page.goto(dash.url + PAGES["asset"])
    on_asset_page = page.locator("#asset-log tbody tr").first.locator("td").nth(4).inner_text()
    assert on_run_page == on_asset_page, (on_run_page, on_asset_page)
    assert re.fullmatch(r"\d+ ms|\d(\.\d)? s", on_asset_page), on_asset_page

    page.locator("details.card summary").click()
    stored = page.locator("table.all-columns tr", has=page.locator("th", has_text="last_synced_at"))
    expect(stored.locator("td")).to_have_text(TIME_IN_ZONE)
    expect(page.locator("#asset-log tbody td").first).to_have_text(TIME_IN_ZONE)

    page.goto(dash.url + PAGES["garbled"])
    folded = page.locator("#asset-log details.unparsed")
    expect(folded.locator("summary")).to_have_text(re.compile(r"^\d{2} values stored as NULL$"))
    expect(folded.locator("li").first).not_to_be_visible()
    folded.locator("summary").click()
    expect(folded.locator("li", has_text="data.ticketcount")).to_be_visible()

    page.goto(dash.url + "/assets/" + quote("Not In_The_Register", safe=""))
    expect(page.locator("h1")).to_have_text("Not found")
    expect(page.locator(".hint")).to_contain_text("ic3sync import-assets")
