"""The dashboard in real headless Chromium, against `ic3sync serve` and the simulator as processes,
on PostgreSQL and SQLite: what an operator does, and what nobody without the token can do."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
from playwright.sync_api import Page, expect

from ic3sync.durations import duration
from tests.browser.support import (
    FAST,
    MISMATCH,
    NOT_FOUND,
    REGISTER,
    SCRIPT,
    SLOW,
    STATUS_FALSE,
    Dashboard,
    log_in,
)
from tests.e2e.conftest import PREFIX

Serve = Callable[..., Dashboard]
TIME_IN_ZONE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d IST")


def watch_progress(page: Page, timeout: float = 30) -> list[tuple[int, int]]:
    """(value, max) of the run's progress bar, sampled until the run is no longer running."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    # One read of bar and status: the live part may be swapped between two reads.
    read = """() => {
        const part = document.getElementById("run-summary");
        const bar = part.querySelector("progress.run-progress");
        return [bar.value, bar.max, part.querySelector(".badge").textContent];
    }"""
    while time.monotonic() < deadline:
        value, top, status = page.evaluate(read)
        if not seen or seen[-1] != (value, top):
            seen.append((int(value), int(top)))
        if status != "running":
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the run did not end within {timeout} s; bar went {seen}")


def count(page: Page, where: str, label: str) -> int:
    """The number a card shows under `label` (its dt/dd pairs)."""
    cell = page.locator(f"{where} .counts div", has=page.locator("dt", has_text=label))
    return int(cell.locator("dd").inner_text().replace(",", ""))


def no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


def test_a_run_moves_live_then_its_failures_are_grouped_filtered_and_rerun(
    serve_dashboard: Serve, page: Page, shots: Path
) -> None:
    dash = serve_dashboard()
    log_in(page, dash)
    expect(page.locator("#current-run")).to_contain_text("No sync is running")
    assert count(page, "#health", "Never synced") == len(REGISTER)

    page.get_by_role("button", name="Start the sync").click()
    page.wait_for_url(re.compile(r"/runs/1$"))
    # Set in this document only: still there at the end means the page was never reloaded.
    page.evaluate("window.sameDocument = true")
    seen = watch_progress(page)
    total = len(REGISTER)
    values = [value for value, _ in seen]
    assert values == sorted(values), f"the bar went backwards: {seen}"
    assert any(0 < v < total for v in values), f"never seen between 0 and {total}: {seen}"
    assert seen[-1] == (total, total), seen
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator("#run-summary .badge").first).to_have_text("completed")

    reasons = page.locator("#run-reasons li")
    expect(reasons).to_have_count(3)
    text = reasons.all_inner_texts()
    assert any(t.startswith("HTTP 404: 1") for t in text), text
    assert any(t.startswith("status false: 1") for t in text), text
    assert any(t.startswith("serial mismatch: 1") for t in text), text
    expect(page.locator("#run-summary .duration")).to_have_text(
        re.compile(r"^(\d+(\.\d)? s|\d+ ms)$")
    )
    expect(page.locator("#run-summary")).to_contain_text(TIME_IN_ZONE)

    page.locator("#log-tabs").get_by_role("link", name=re.compile("^Failed")).click()
    rows = page.locator("table.log tbody tr")
    expect(rows).to_have_count(3)
    assert set(rows.locator("td:first-child").all_inner_texts()) == {
        NOT_FOUND,
        STATUS_FALSE,
        MISMATCH,
    }
    expect(rows.filter(has_text="HTTP 404 Not Found")).to_have_count(1)
    page.screenshot(path=shots / "dashboard-run-failures.png", full_page=True)

    page.get_by_label("Asset id contains").fill("broken")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(NOT_FOUND)
    assert "status=failed" in page.url

    page.get_by_role("button", name="Re-run the failed assets").click()
    page.wait_for_url(re.compile(r"/runs/2$"))
    expect(page.locator("#run-summary .badge").first).to_have_text("completed", timeout=20_000)
    expect(page.locator("#run-summary")).to_contain_text("only failed")
    assert count(page, "#run-summary", "Total") == 3
    assert sorted(page.locator("table.log tbody td:first-child").all_inner_texts()) == sorted(
        [NOT_FOUND, STATUS_FALSE, MISMATCH]
    )

    page.goto(dash.url + "/runs?status=completed&trigger=dashboard")
    expect(page.locator("table.runs tbody tr")).to_have_count(2)
    expect(page.locator("table.runs tbody tr").first).to_contain_text("Run 2")
    page.goto(dash.url + "/runs?trigger=schedule")
    expect(page.locator("p.empty")).to_have_text("No runs match this filter.")


def test_a_second_start_is_refused_with_409_and_the_running_one_is_cancelled(
    serve_dashboard: Serve, page: Page, shots: Path
) -> None:
    dash = serve_dashboard(extra_ids=tuple(SLOW))
    # History for the chart and the last-finished card, none of it with the slow assets.
    for params in ({"batch": len(REGISTER)}, {"only_failed": "true"}, {"batch": 10}):
        done = dash.server.http.post(f"{PREFIX}/sync", params=params)
        assert done.status_code == 200, done.text
    log_in(page, dash)

    page.get_by_label("Offset").fill(str(len(REGISTER)))
    page.get_by_role("button", name="Start the sync").click()
    page.wait_for_url(re.compile(r"/runs/4$"))

    page.goto(dash.url + "/")
    live = page.locator("#current-run")
    expect(live.locator("progress.run-progress")).to_be_visible()
    expect(live).to_contain_text("Run 4")
    # Every run so far took a batch: none is "the last run", and the latest is told apart.
    expect(page.locator("#last-run")).to_contain_text("No run over every asset has finished yet")
    expect(page.locator("#latest-activity")).to_contain_text("Run 3")
    expect(page.locator("#runs-chart svg a.bar")).to_have_count(4)
    expect(page.locator("#runs-chart svg a.bar.running")).to_have_count(1)
    # The live part refreshes in place; wait for a current asset and one refresh, then shoot.
    expect(live.locator(".current-asset")).to_contain_text("Slow Line")
    expect(page.locator("html")).to_have_attribute("data-live-updated", re.compile(r"^\d+$"))
    page.screenshot(path=shots / "dashboard-overview.png", full_page=True)

    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Start the sync").click()
    assert answer.value.status == 409
    alert = page.locator("#start-error")
    expect(alert).to_contain_text("A sync is already running (run 4)")
    assert "detail" not in page.content()
    assert dash.run_count() == 4
    alert.get_by_role("link", name="Go to run 4").click()
    page.wait_for_url(re.compile(r"/runs/4$"))

    page.get_by_role("button", name="Cancel this run").click()
    expect(page.locator(".flash")).to_have_text("Run 4 is cancelled.")
    summary = page.locator("#run-summary")
    expect(summary.locator(".badge").first).to_have_text("cancelled")
    assert 0 < count(page, "#run-summary", "Skipped") < len(SLOW)
    expect(page.get_by_role("button", name="Cancel this run")).to_have_count(0)


def test_asset_pages_take_ids_with_spaces_sync_now_and_show_markup_as_text(
    serve_dashboard: Serve, page: Page
) -> None:
    dash = serve_dashboard()
    log_in(page, dash)

    asset = FAST[6]
    page.get_by_placeholder("Find an asset by id or name").fill(asset)
    page.get_by_role("button", name="Open", exact=True).click()
    page.wait_for_url(dash.url + "/assets/" + quote(asset, safe=""))
    expect(page.locator("h1")).to_have_text(asset)
    expect(page.locator("#performance")).to_contain_text("Nothing stored yet")

    page.get_by_role("button", name="Sync this asset now").click()
    expect(page.locator(".flash-ok")).to_contain_text("Synced now (run 1): traceability id")
    expect(page.locator("#performance table")).to_contain_text("MTTR")
    # The vendor's "HHHH:MM:SS" next to the seconds stored for it, shown as h, min and s.
    shown = 0
    for row in page.locator("#performance tbody tr").all():
        cells = row.locator("td").all_inner_texts()
        parts = re.fullmatch(r"(\d+):(\d\d):(\d\d)", cells[0])
        if parts:
            h, m, sec = (int(x) for x in parts.groups())
            assert cells[1] == duration(h * 3600 + m * 60 + sec, unit="s", exact=True), cells
            shown += 1
    assert shown >= 1
    expect(page.locator("#asset-log tbody tr")).to_have_count(1)
    expect(page.locator("#asset-log")).to_contain_text(TIME_IN_ZONE)

    page.goto(dash.url + "/assets/" + quote(NOT_FOUND, safe=""))
    page.get_by_role("button", name="Sync this asset now").click()
    expect(page.locator(".flash-error")).to_contain_text(
        "Not synced. Innomaint answered: HTTP 404 Not Found"
    )

    page.goto(dash.url + "/assets/" + quote(SCRIPT, safe=""))
    expect(page.locator("h1")).to_have_text(SCRIPT)
    expect(page.locator(".lead")).to_have_text(f"Asset {SCRIPT}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    page.get_by_role("button", name="Sync this asset now").click()
    expect(page.locator(".flash-ok")).to_be_visible()
    page.locator(".flash-ok").get_by_role("link").click()
    expect(page.locator("table.log tbody td:first-child")).to_have_text(SCRIPT)

    page.goto(dash.url + "/assets/" + quote("Not In_The_Register", safe=""))
    expect(page.locator("h1")).to_have_text("Not found")

    # Readable on a phone: no page scrolls sideways at 390 px.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/", "/runs", "/runs/1", "/assets/" + quote(asset, safe="")):
        page.goto(dash.url + path)
        no_horizontal_scroll(page)


def test_without_the_session_no_page_opens_and_forms_need_this_origin(
    serve_dashboard: Serve, page: Page
) -> None:
    dash = serve_dashboard()
    first = dash.server.http.post(f"{PREFIX}/sync", params={"batch": 3})
    assert first.status_code == 200, first.text
    asset_path = "/assets/" + quote(FAST[0], safe="")
    for path in ("/", "/runs", "/runs/1", "/runs/1?status=failed", asset_path):
        page.goto(dash.url + path)
        assert page.url.startswith(dash.url + "/login"), page.url
        expect(page.locator("h1")).to_have_text("Log in")
        expect(page.locator("main table, main progress, #run-summary")).to_have_count(0)
        assert f"Asset {FAST[0]}" not in page.content()

    with httpx.Client(base_url=dash.url, follow_redirects=False) as anon:
        assert anon.get("/", headers={"X-Live": "1"}).status_code == 401
        started = anon.post("/runs", headers={"Origin": dash.url})
        assert started.status_code == 303
        assert started.headers["location"].startswith("/login")
        assert anon.post("/runs/1/cancel", headers={"Origin": dash.url}).status_code == 303
        assert anon.get("/openapi.json").json()["paths"].keys().isdisjoint({"/", "/runs"})
    assert dash.run_count() == 1

    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-error")).to_contain_text("not the admin token")
    assert "not-the-token" not in page.content()

    log_in(page, dash, "/runs/1")
    assert page.url == dash.url + "/runs/1"
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    payload = base64.b64decode(cookie["value"].split(".")[0])
    assert dash.token is not None
    assert dash.token.encode() not in payload
    assert dash.token not in page.url

    # The session alone does not make a state change: the form must come from this origin.
    jar = {cookie["name"]: cookie["value"]}
    with httpx.Client(base_url=dash.url, cookies=jar, follow_redirects=False) as forged:
        assert forged.get("/runs").status_code == 200
        evil = forged.post("/runs", headers={"Origin": "http://evil.example"})
        assert evil.status_code == 403
        assert forged.post("/runs").status_code == 403  # neither Origin nor Referer
        ok = forged.post("/runs", headers={"Origin": dash.url}, data={"batch": "1"})
        assert ok.status_code == 303
    assert dash.run_count() == 2

    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/login$"))
    page.goto(dash.url + "/runs")
    assert page.url.startswith(dash.url + "/login")
    assert dash.token not in dash.server.log()


def test_without_a_token_the_dashboard_opens_only_under_a_loopback_name(
    serve_dashboard: Serve,
) -> None:
    dash = serve_dashboard(IC3_ADMIN_TOKEN="")
    with httpx.Client(base_url=dash.url, follow_redirects=False) as local:
        home = local.get("/")
        assert home.status_code == 200
        assert "Start the sync" in home.text
        assert "Log out" not in home.text
        assert local.get("/login").status_code == 303
        # A page of another site that resolved its name to 127.0.0.1 (DNS rebinding).
        rebound = local.get("/", headers={"Host": f"evil.example:{dash.url.rsplit(':', 1)[1]}"})
        assert rebound.status_code == 403
        assert "Start the sync" not in rebound.text

        # What a person can type or edit answers a page that says what is wrong, never a 500.
        same = {"Origin": dash.url}
        for form in ({"batch": "²"}, {"offset": "99999999999"}, {"batch": "0"}):
            refused = local.post("/runs", headers=same, data=form)
            assert refused.status_code == 400, form
            assert "must be a whole number" in refused.text
        assert dash.run_count() == 0
        for path in ("/runs/4242", "/runs/99999999999999999999", "/assets/%00", "/runs/x"):
            missing = local.get(path)
            assert missing.status_code == 404, path
            assert missing.headers["content-type"].startswith("text/html")
        assert local.post("/runs/4242/cancel", headers=same).status_code == 404
        started = local.post("/runs", headers=same, data={"batch": "2"})
        assert started.status_code == 303
        log = local.get(started.headers["location"], params={"q": "\x00Plant"})
        assert log.status_code == 200
