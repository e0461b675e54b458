"""Fixtures of the dashboard's browser tests: one headless Chromium and one simulator process per
session, and per test an `ic3sync serve` process over a seeded database of each backend."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Response,
    sync_playwright,
)

from ic3sync.db.engine import make_engine
from tests.browser.support import (
    CHROMIUM_ARGS,
    FAULTS,
    LATENCY_MS,
    REGISTER,
    TIMEZONE,
    Dashboard,
    chromium_path,
)
from tests.e2e.conftest import ADMIN_TOKEN, ServerProcess, launch_server, wait_ready
from tests.helpers import seed_assets
from tests.procs import simulator_process


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not Path(path).is_file():
        pytest.fail(
            f"no Chromium at {path}: the dashboard's tests need a real browser. Install Debian's "
            "package (apt-get install -y --no-install-recommends chromium; .ci/run does it) "
            "or point IC3_TEST_CHROMIUM at a Chromium executable",
            pytrace=False,
        )
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watch:
    """What a page did that a user would see as broken: script errors, refused resources
    (the Content-Security-Policy reports them on the console), and dialogs."""

    problems: list[str] = field(default_factory=list)

    def console(self, msg: ConsoleMessage) -> None:
        # A page answered 401, 404 or 409 on purpose logs this too; `response` below watches
        # what a page loads.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.problems.append(f"console: {msg.text}")

    def response(self, response: Response) -> None:
        if response.request.resource_type not in ("document", "fetch") and response.status >= 400:
            self.problems.append(f"{response.status} for {response.url}")

    def dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"dialog: {dialog.type} {dialog.message!r}")
        dialog.dismiss()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh context (no cookies) at 1280 px; fails the test on a script error or a dialog."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    watch = Watch()
    tab.on("console", watch.console)
    tab.on("dialog", watch.dialog)
    tab.on("response", watch.response)
    tab.on("pageerror", lambda exc: watch.problems.append(f"page error: {exc}"))
    try:
        yield tab
    finally:
        context.close()
    assert not watch.problems, watch.problems


@pytest.fixture(scope="session")
def dash_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(
        tmp_path_factory.mktemp("dash-sim"), faults=FAULTS, latency_ms=LATENCY_MS
    ) as url:
        yield url


@pytest.fixture
def serve_dashboard(
    migrated_db_url: str, dash_simulator: str, tmp_path: Path
) -> Iterator[Callable[..., Dashboard]]:
    """`serve_dashboard(extra_ids=(), **env)`: the register seeded, `ic3sync serve` on it."""
    db_url = migrated_db_url
    engine = make_engine(db_url)
    servers: list[ServerProcess] = []

    def start(extra_ids: tuple[str, ...] = (), **env: str | None) -> Dashboard:
        seed_assets(engine, [*REGISTER, *extra_ids])
        env.setdefault("IC3_TIMEZONE", TIMEZONE)
        server = launch_server(db_url, dash_simulator, tmp_path, **env)
        servers.append(server)
        wait_ready(server)
        token = env.get("IC3_ADMIN_TOKEN", ADMIN_TOKEN) or None
        return Dashboard(server, engine, token)

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
        engine.dispose()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: IC3_SCREENSHOTS (`make screenshots` sets docs/), else tmp."""
    target = os.environ.get("IC3_SCREENSHOTS")
    path = Path(target) if target else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path
