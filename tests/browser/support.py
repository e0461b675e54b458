"""What the dashboard's browser tests share besides fixtures: the register they seed, the
simulator's faults, and the steps every test takes (logging in)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import Page

from tests.e2e.conftest import ServerProcess

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# The register of every test: ids with spaces, three that fail for good (one of each kind the
# failure summary groups), one whose id is markup, and slow ones to hold a run open.
FAST = [f"Plant {i:02d}_PUMP_{i:02d}" for i in range(1, 21)]
NOT_FOUND = "Site Z_BROKEN_01"
STATUS_FALSE = "Site Y_NOFLAG_01"
MISMATCH = "Site X_OTHER_01"
SCRIPT = "<script>alert(1)</script>"
SLOW = [f"Slow Line {i:02d}" for i in range(1, 9)]
# An asset whose every number is garbage: its log row names a dozen values stored as NULL.
GARBLED = "Site W_GARBLED_01"
REGISTER = [*FAST[:6], NOT_FOUND, *FAST[6:12], STATUS_FALSE, *FAST[12:], MISMATCH, SCRIPT]
FAULTS: dict[str, object] = {
    NOT_FOUND: "not_found",
    STATUS_FALSE: "status_false",
    MISMATCH: "other_serial",
    GARBLED: "bad_numbers",
    # The first slow asset is answered; the vendor holds the others until the run is cancelled.
    SLOW[0]: {"kind": "slow", "ms": 400},
    **{sid: {"kind": "held"} for sid in SLOW[1:]},
}
# Enough per-asset time that a run of the register spans several refreshes of the page.
LATENCY_MS = 60
TIMEZONE = "Asia/Kolkata"


# axe-core, installed by `make test` (the Makefile's $(AXE) step) from npm.
AXE_JS = Path(__file__).resolve().parents[2] / ".tools" / "node_modules" / "axe-core" / "axe.min.js"


def axe_violations(page: Page) -> list[str]:
    """What axe-core finds on the page as it stands: "rule (impact): target" per node."""
    if not AXE_JS.is_file():
        raise AssertionError(
            f"axe-core is not installed at {AXE_JS}: run `make test`, or "
            "`npm install --no-save --prefix .tools axe-core@4`"
        )
    # Evaluated, not added as a <script>: the dashboard's Content-Security-Policy refuses
    # inline scripts, and the check must not need that policy loosened.
    page.evaluate(AXE_JS.read_text())
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.flatMap(v => v.nodes.map(
                n => `${v.id} (${v.impact}): ${n.target.join(" ")}`));
        }"""
    )
    return list(found)


def chromium_path() -> str:
    """IC3_TEST_CHROMIUM, or Debian's chromium on the PATH."""
    return os.environ.get("IC3_TEST_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@dataclass
class Dashboard:
    server: ServerProcess
    engine: sa.Engine
    token: str | None

    @property
    def url(self) -> str:
        return self.server.url

    def run_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM cmms_sync_run")).scalar_one()


def log_in(page: Page, dash: Dashboard, path: str = "/") -> None:
    page.goto(dash.url + path)
    page.get_by_label("Admin token").fill(dash.token or "")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)
