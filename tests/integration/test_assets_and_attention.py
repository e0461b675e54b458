"""The assets page and what needs attention, on SQLite and PostgreSQL: the read models over a
register synced three nights running, then the pages as the dashboard serves them (in process,
through FastAPI's TestClient) and the `attention` command, in process too."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from typer.testing import CliRunner

from ic3sync.api import create_app
from ic3sync.attention import ATTENTION_COLUMNS, attention_rows
from ic3sync.bootstrap import bootstrap, client_factory
from ic3sync.cli import app as cli_app
from ic3sync.cli.attention import DEFAULT_FAILING_RUNS
from ic3sync.config import Settings, get_settings
from ic3sync.db.read import list_assets, needs_attention
from ic3sync.db.read.asset_list import AssetFilter
from ic3sync.db.read.attention import FAILING_RUNS, null_values
from ic3sync.db.schema import asset_master
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.model import AssetSelection
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets

GONE = "Gone_01"  # the vendor answers 404, every night
LATE_GONE = "Plant 05_PUMP_05"  # answered the first night, 404 since
GARBLED = "Site W_GARBLED_01"  # every number garbage: values stored as NULL
KHYALA = "Khyala Phase 2_BP"
PERCENT = "Site 10%_A_01"
IDS = [KHYALA, "Khyala Phase 3_BP", PERCENT, "Site 1_A_01", LATE_GONE, GONE, GARBLED]
NEVER = ["Never_01", "Never_02"]  # imported after the nights: never synced
OTHER_CUSTOMER = 99


@dataclass
class Scene:
    engine: sa.Engine
    sim: Simulator
    runs: list[int]


def _night(engine: sa.Engine, sim: Simulator) -> int:
    with client_for(sim.url) as client:
        return run_sync(engine, client, trigger="schedule").run_id


@pytest.fixture
def scene(engine: sa.Engine) -> Iterator[Scene]:
    """Three full runs; LATE_GONE failing the last two, KHYALA's criticality changed by the
    last, GARBLED's numbers unusable every time; then NEVER imported under another customer."""
    seed_assets(engine, IDS)
    faults = {GONE: "not_found", GARBLED: "bad_numbers"}
    with Simulator(SimulatorConfig(token=TOKEN, faults=faults)) as sim:
        runs = [_night(engine, sim)]
        sim.config.faults[LATE_GONE] = {"kind": "not_found"}
        runs.append(_night(engine, sim))
        with engine.begin() as conn:
            # What the register held before the last night: the vendor's value is a change.
            conn.execute(
                sa.update(asset_master)
                .where(asset_master.c.cmms_asset_id == KHYALA)
                .values(criticality="Edited by hand")
            )
        runs.append(_night(engine, sim))
        seed_assets(engine, NEVER, customer_id=OTHER_CUSTOMER, criticality="High", start_seq=100)
        yield Scene(engine, sim, runs)


def _ids(engine: sa.Engine, **kw) -> list[str]:  # type: ignore[no-untyped-def]
    sort = kw.pop("sort", "id")
    with engine.connect() as conn:
        page = list_assets(conn, AssetFilter(**kw), sort=sort, limit=100)
    assert page.total == len(page.items)
    return [a.cmms_asset_id for a in page.items]


def test_the_assets_list_filters_searches_and_sorts(scene: Scene) -> None:
    engine = scene.engine
    assert _ids(engine, state="failing") == [GONE, LATE_GONE]
    assert _ids(engine, state="never") == NEVER
    assert set(_ids(engine, state="ok")) == set(IDS) - {GONE, LATE_GONE}
    # Part of an id, any case, on both databases; % and _ are searched for as written.
    assert _ids(engine, search="khyala PHASE") == [KHYALA, "Khyala Phase 3_BP"]
    assert _ids(engine, search="10%") == [PERCENT]
    assert _ids(engine, search="1_A") == ["Site 1_A_01"]
    assert _ids(engine, search="asset never_0") == NEVER  # the name: "Asset Never_01"
    assert _ids(engine, customer_id=OTHER_CUSTOMER) == NEVER
    assert _ids(engine, criticality="High", customer_id=OTHER_CUSTOMER, search="02") == NEVER[1:]
    assert _ids(engine, changed_days=7) == [KHYALA]
    assert _ids(engine, changed_days=7, column="criticality") == [KHYALA]
    assert _ids(engine, changed_days=7, column="in_charge_person") == []
    with engine.connect() as conn:
        building_id = conn.execute(
            sa.select(asset_master.c.building_id).where(asset_master.c.cmms_asset_id == KHYALA)
        ).scalar_one()
        same_building = conn.execute(
            sa.select(asset_master.c.cmms_asset_id)
            .where(asset_master.c.building_id == building_id)
            .order_by(asset_master.c.cmms_asset_id)
        ).scalars()
        assert _ids(engine, building_id=building_id) == list(same_building)
        # The last sync, oldest first with the never synced before them, and newest first.
        stamps = dict(
            conn.execute(
                sa.select(asset_master.c.cmms_asset_id, asset_master.c.last_synced_at)
            ).all()
        )
    synced = sorted((s, i) for i, s in stamps.items() if s is not None)
    oldest_first = _ids(engine, sort="last_sync")
    assert oldest_first[: len(NEVER) + 1] == [GONE, *NEVER]  # GONE never succeeded either
    assert oldest_first[len(NEVER) + 1 :] == [i for _, i in synced]
    newest_first = _ids(engine, sort="-last_sync")
    assert newest_first[: len(synced)] == [i for _, i in reversed(synced)]
    with engine.connect() as conn:
        second = list_assets(conn, AssetFilter(), limit=3, offset=3)
        failing = list_assets(conn, AssetFilter(state="failing")).items
    assert second.total == len(IDS) + len(NEVER) and len(second.items) == 3
    assert {(a.state, a.error_kind, a.http_status) for a in failing} == {
        ("failing", "http_404", 404)
    }


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    """A process reads its settings once: a command run in this one reads them again."""
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_needs_attention_gathers_streaks_never_synced_and_unusable_values(
    scene: Scene, db_url: str, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    engine = scene.engine
    with engine.connect() as conn:
        three = needs_attention(conn, failing_runs=3)
        two = needs_attention(conn, failing_runs=2)
    assert three.failing_runs == FAILING_RUNS == DEFAULT_FAILING_RUNS == 3
    assert [(f.cmms_asset_id, f.runs) for f in three.failing] == [(GONE, 3)]
    gone = three.failing[0]
    assert gone.last_run_id == scene.runs[-1] and gone.http_status == 404
    assert gone.since is not None and gone.since < datetime.now(UTC)
    assert [(f.cmms_asset_id, f.runs) for f in two.failing] == [(GONE, 3), (LATE_GONE, 2)]
    assert two.failing_total == 2 and two.failing[1].since > gone.since
    assert (three.never_synced_total, [n.cmms_asset_id for n in three.never_synced]) == (2, NEVER)
    # GARBLED's latest success stored a dozen values as NULL; each field counts it once.
    fields = {u.field: u for u in three.unusable}
    assert len(fields) >= 5 and all(u.assets == 1 for u in fields.values())
    assert all(u.examples[0].cmms_asset_id == GARBLED for u in fields.values())
    assert any("x:y" in u.examples[0].problem for u in fields.values())

    # The command says the same.
    monkeypatch.setenv("IC3_DATABASE_URL", db_url)
    runner = CliRunner()
    text = runner.invoke(cli_app, ["attention", "--failing-runs", "2"])
    assert text.exit_code == 0, text.output
    assert "Failing 2 full runs in a row or more: 2 assets" in text.output
    assert "Never synced: 2 assets" in text.output and "performance.mttr" in text.output
    as_json = json.loads(runner.invoke(cli_app, ["attention", "--json"]).stdout)
    assert [f["cmms_asset_id"] for f in as_json["failing"]] == [GONE]
    assert as_json["never_synced_total"] == 2 and len(as_json["unusable"]) == len(fields)
    assert runner.invoke(cli_app, ["attention", "--failing-runs", "0"]).exit_code == 2

    # A success of any run ends a streak: a sync-one of the asset, once the vendor knows it.
    del scene.sim.config.faults[GONE]
    with client_for(scene.sim.url) as client:
        run_sync(engine, client, trigger="cli", selection=AssetSelection(cmms_asset_id=GONE))
    with engine.connect() as conn:
        after = needs_attention(conn, failing_runs=2)
        rows = list(attention_rows(conn, failing_runs=2))
    assert [f.cmms_asset_id for f in after.failing] == [LATE_GONE]
    assert all(list(r) == list(ATTENTION_COLUMNS) for r in rows)
    whats = [r["what"] for r in rows]
    assert whats[0] == "failed 2 full runs in a row" and rows[0]["reason"] == "HTTP 404"
    assert whats.count("never synced") == 2
    assert whats.count("value stored as NULL") == len(fields)
    assert {r["field"] for r in rows if r["field"]} == set(fields)


def test_values_stored_as_null_are_read_after_notes_and_across_semicolons() -> None:
    message = (
        "data.id 5 differs from traceid 6; traceid kept; stored as NULL: "
        "performance.mttr: 'x:y' is not a duration; data.barcode: 'a; b' is too long; "
        "workorder_transactional.upto.ticket_count: 'abc' is not an integer"
    )
    assert null_values(message) == [
        ("performance.mttr", "'x:y' is not a duration"),
        ("data.barcode", "'a; b' is too long"),
        ("workorder_transactional.upto.ticket_count", "'abc' is not an integer"),
    ]
    assert null_values("cut to 10 characters: data.barcode") == []
    assert null_values(None) == []


@pytest.fixture
def client(scene: Scene, db_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, api_url=scene.sim.url, api_token=TOKEN, rate_ms=0)
    wiring = bootstrap(settings, engine=scene.engine, clients=client_factory(settings))
    # A loopback Host: without IC3_ADMIN_TOKEN the dashboard answers there only.
    with TestClient(create_app(wiring), base_url="http://127.0.0.1") as http:
        yield http


def test_the_pages_take_their_filters_from_the_url_and_the_overview_links_into_them(
    client: TestClient, scene: Scene
) -> None:
    searched = client.get("/assets", params={"q": "KHYALA phase 2"})
    assert searched.status_code == 200
    assert "1 asset matching" in searched.text and "Khyala%20Phase%202_BP" in searched.text
    # The box at the top: an exact id opens the asset, part of one lists what matches.
    exact = client.get("/assets", params={"id": KHYALA}, follow_redirects=False)
    assert exact.status_code == 303 and exact.headers["location"].endswith("Khyala%20Phase%202_BP")
    partial = client.get("/assets", params={"id": "khyala"})
    assert partial.status_code == 200 and "2 assets matching" in partial.text

    failing = client.get("/assets", params={"state": "failing", "sort": "-last_sync"})
    assert "2 assets whose last sync failed" in failing.text and "HTTP 404" in failing.text
    assert 'aria-sort="descending"' in failing.text
    # Hand-edited values mean "any", never an error page.
    odd = client.get("/assets", params={"state": "x", "changed_days": "-1", "customer": "y"})
    assert odd.status_code == 200 and f"{len(IDS) + len(NEVER)} assets" in odd.text
    changed = client.get("/assets", params={"changed_days": "7", "column": "criticality"})
    assert "1 asset with a change of criticality in the last 7 days" in changed.text

    overview = client.get("/").text
    for link in (
        "/assets?state=failing",
        "/assets?state=never",
        "/assets?changed_days=7&amp;column=criticality",
        "/attention",
    ):
        assert f'href="{link}"' in overview, link

    page = client.get("/attention")
    assert page.status_code == 200
    assert "Failing 3 full runs in a row or more" in page.text and "Gone_01" in page.text
    assert "Plant%2005_PUMP_05" not in page.text.split('id="never-synced"')[0]
    assert "performance.<wbr>mttr" in page.text and "Never_02" in page.text
    two = client.get("/attention", params={"runs": "2"}).text
    assert "Plant%2005_PUMP_05" in two.split('id="never-synced"')[0]

    last = scene.runs[-1]
    run_page = client.get(f"/runs/{last}").text
    assert f'href="/runs/{last}/changes.xlsx"' in run_page
    book = client.get(f"/runs/{last}/changes.xlsx")
    assert book.status_code == 200
    assert book.headers["content-disposition"].endswith(f'ic3sync-run-{last}-changes.xlsx"')
    rows = list(load_workbook(io.BytesIO(book.content)).active.iter_rows(values_only=True))
    assert len(rows) >= 2 and any(KHYALA in row and "criticality" in row for row in rows[1:])
    assert client.get("/runs/999999/changes.xlsx").status_code == 404
