"""`ic3sync demo`: migrate, import the sample register and sync it against a local simulator."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
from pydantic import SecretStr
from rich.console import Console

from ic3sync import bootstrap
from ic3sync.config import Settings
from ic3sync.db import migrate as migrations
from ic3sync.db.engine import redact_url
from ic3sync.importer import import_assets, import_summary
from ic3sync.innomaint.simulator import ENDPOINT_PATH, Simulator, SimulatorConfig, load_faults
from ic3sync.model import AssetSelection
from ic3sync.notify import Notifications
from ic3sync.runs import run_and_follow_up
from ic3sync.terminal import RichProgress, print_summary, stop_on_signals

DEMO_LATENCY_MS = 5.0
# The token the simulator and the service agree on when people try them together.
TRY_TOKEN = "try-it-locally"
SIMULATOR_PORT = 9191


def try_it_commands() -> list[str]:
    """The three commands of "Try it against the simulator", as the README gives them."""
    url = f"http://127.0.0.1:{SIMULATOR_PORT}{ENDPOINT_PATH}"
    return [
        f".venv/bin/ic3sync simulator --token {TRY_TOKEN} "
        "--faults examples/demo_faults.json --fault-rate 0.05 &",
        f"export INNOMAINT_API_URL={url} INNOMAINT_API_TOKEN={TRY_TOKEN}",
        ".venv/bin/ic3sync serve",
    ]


def examples_dir() -> Path:
    for candidate in (Path.cwd() / "examples", Path(__file__).resolve().parents[2] / "examples"):
        if (candidate / "asset_register.xlsx").exists():
            return candidate
    raise FileNotFoundError("examples/asset_register.xlsx not found; run the demo from the repo")


def run_demo(settings: Settings, *, rate_ms: int, console: Console, token: str) -> int:
    examples = examples_dir()
    where = redact_url(settings.database_url)
    engine = bootstrap.open_engine(settings, schema="skip")
    console.rule("[bold]ic3sync demo")
    _, after = migrations.upgrade(engine)
    console.print(f"1. schema at revision {after} in {where}", highlight=False)
    result = import_assets(engine, examples / "asset_register.xlsx")
    console.print(
        f"2. imported {import_summary('examples/asset_register.xlsx', result)}",
        highlight=False,
        markup=False,
    )
    sim_config = SimulatorConfig(
        token=token, faults=load_faults(examples / "demo_faults.json"), latency_ms=DEMO_LATENCY_MS
    )
    with Simulator(sim_config) as sim:
        console.print(
            f"3. Innomaint simulator at {sim.url.split('/api/')[0]}; syncing with "
            f"INNOMAINT_RATE_MS={rate_ms}",
            highlight=False,
        )
        demo_settings = settings.model_copy(
            update={"api_url": sim.url, "api_token": SecretStr(token), "rate_ms": rate_ms}
        )
        cancel = threading.Event()
        progress = RichProgress(console) if console.is_terminal else None
        # A transport of its own: the simulator is on this machine, never behind the proxy
        # HTTP_PROXY may name for the real vendor.
        clients = bootstrap.client_factory(
            demo_settings, backoff_base_s=0.2, transport=httpx.HTTPTransport()
        )
        with clients(cancel=cancel) as client, stop_on_signals(cancel, console):
            try:
                # No notice: a demo's run is not news for the addresses IC3_NOTIFY_* name.
                outcome = run_and_follow_up(
                    engine,
                    client,
                    settings,
                    Notifications(()),
                    trigger="demo",
                    selection=AssetSelection(),
                    cancel=cancel,
                    observer=progress,
                )
            finally:
                if progress:
                    progress.stop()
    print_summary(outcome, console)
    db = settings.database_url
    console.print("\nLook at the results:", style="bold")
    if db.startswith("sqlite:///"):
        path = db.removeprefix("sqlite:///")
        console.print(
            f'  sqlite3 {path} "SELECT status, COUNT(*) FROM ic3_sync_log GROUP BY status"\n'
            f'  sqlite3 {path} "SELECT cmms_asset_id, error_message FROM cmms_sync_log '
            f"WHERE run_id = {outcome.run_id} AND status <> 'success'\"",
            highlight=False,
            markup=False,
        )
    console.print(
        "  .venv/bin/ic3sync serve   # the dashboard on :9090", highlight=False, markup=False
    )
    # The simulator, not the real Innomaint: the demo's reader has no vendor token, and a
    # sync against the real API is not something to try out.
    console.print(
        '\nTry the service against the simulator (README.md, "Try it against the simulator"):',
        style="bold",
    )
    console.print(
        "\n".join(f"  {line}" for line in try_it_commands()), highlight=False, markup=False
    )
    return 0 if outcome.status == "completed" else 1
