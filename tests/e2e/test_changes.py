"""The change history from outside: the admin routes of `ic3sync serve`, and `ic3sync changes`
and `ic3sync export` as processes, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from ic3sync.db.schema import asset_master, workorder_summary
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.sync import run_sync
from tests.e2e.conftest import BROKEN, PREFIX, asset_ids
from tests.helpers import client_for, seed_assets
from tests.procs import base_env, run_cli

SPACED = "Delhi Cantt Naraina_BP_01"
OTHER_CUSTOMER = "Plant 09_PUMP_09"  # customer 24481; the others are 24463 and 24470


def _edit(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id.in_([SPACED, OTHER_CUSTOMER]))
            .values(criticality="Was-Low")
        )
        conn.execute(
            sa.update(workorder_summary)
            .where(workorder_summary.c.period_type == "upto")
            .values(ticket_count=999)
        )


def _synced(engine: sa.Engine, api_url: str) -> None:
    with client_for(api_url) as client:
        result = run_sync(engine, client, trigger="cli")
    assert (result.status, result.failed) == ("completed", 0), result


def test_the_change_routes_answer_per_asset_per_run_and_across_the_register(register, start_server):
    seed_assets(register, [SPACED, *asset_ids(2), BROKEN])
    seed_assets(register, [OTHER_CUSTOMER], start_seq=10)
    http = start_server().http
    baseline = http.post(f"{PREFIX}/sync").json()
    assert baseline["success"] == 4
    assert http.get(f"{PREFIX}/runs/{baseline['run_id']}/changes").json()["total"] == 0
    _edit(register)
    run = http.post(f"{PREFIX}/sync").json()
    data = asset_payload(SPACED)["response"]

    timeline = http.get(f"{PREFIX}/assets/{SPACED}/changes").json()
    assert timeline["total"] == 2
    by_column = {c["column_name"]: c for c in timeline["items"]}
    assert by_column["criticality"]["old_value"] == "Was-Low"
    assert by_column["criticality"]["new_value"] == data["data"]["criticality"]
    assert by_column["upto.ticket_count"]["old_value"] == "999"
    assert by_column["upto.ticket_count"]["new_value"] == str(
        data["workorder_transactional"]["upto"]["ticket_count"]
    )
    assert all(c["run_id"] == run["run_id"] for c in timeline["items"])
    # Newest first, paginated.
    ids = [c["change_id"] for c in timeline["items"]]
    assert ids == sorted(ids, reverse=True)
    page = http.get(f"{PREFIX}/assets/{SPACED}/changes", params={"limit": 1, "offset": 1})
    assert [c["change_id"] for c in page.json()["items"]] == ids[1:]
    assert http.get(f"{PREFIX}/assets/No%20Such/changes").status_code == 404

    per_run = http.get(f"{PREFIX}/runs/{run['run_id']}/changes").json()
    counts = {c["column_name"]: (c["changes"], c["assets"]) for c in per_run["by_column"]}
    # Every synced asset had its upto.ticket_count edited; two had their criticality.
    assert counts == {"upto.ticket_count": (4, 4), "criticality": (2, 2)}
    assert per_run["total"] == 6 and len(per_run["items"]) == 6
    only = http.get(f"{PREFIX}/runs/{run['run_id']}/changes", params={"column": "criticality"})
    assert {c["cmms_asset_id"] for c in only.json()["items"]} == {SPACED, OTHER_CUSTOMER}
    assert http.get(f"{PREFIX}/runs/99999/changes").status_code == 404
    assert http.get(f"{PREFIX}/changes", params={"column": "bad\x00"}).status_code == 422

    # The customer as the sync stored it; the simulator gives this one a customer of its own.
    other = asset_payload(OTHER_CUSTOMER)["response"]["data"]["customer_id"]
    customer = http.get(f"{PREFIX}/changes", params={"customer_id": other}).json()
    assert {c["cmms_asset_id"] for c in customer["items"]} == {OTHER_CUSTOMER}
    since_now = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert http.get(f"{PREFIX}/changes", params={"since": since_now}).json()["total"] == 0
    today = http.get(f"{PREFIX}/changes", params={"since": "2000-01-01", "column": "criticality"})
    assert today.json()["total"] == 2

    schema = http.get("/openapi.json").json()["paths"]
    for path in ("/assets/{cmms_asset_id}/changes", "/runs/{run_id}/changes", "/changes"):
        assert PREFIX + path in schema, path


def test_ic3sync_changes_prints_a_table_and_writes_files(register, db_url, api_simulator, tmp_path):
    seed_assets(register, [SPACED, *asset_ids(2)])
    env = base_env(db_url, api_simulator, COLUMNS="160")
    # The runs whose history the commands read are made in this process: `ic3sync sync` itself
    # is tested in test_cli.py, and each process would cost its start-up for nothing here.
    _synced(register, api_simulator)
    _edit(register)
    _synced(register, api_simulator)

    table = run_cli("changes", "--asset", SPACED, env=env)
    assert table.returncode == 0, table.stderr
    assert "criticality" in table.stdout and "upto.ticket_count" in table.stdout
    assert "Was-Low" in table.stdout and "2 of 2 changes" in table.stdout

    limited = run_cli("changes", "--limit", "1", env=env)
    assert "1 of 4 changes; --csv or --xlsx writes all 4" in limited.stdout

    out = tmp_path / "changes.csv"
    written = run_cli("changes", "--column", "upto.ticket_count", "--csv", str(out), env=env)
    assert written.returncode == 0 and "wrote 3 changes" in written.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert {r["old_value"] for r in rows} == {"999"} and len(rows) == 3
    assert {r["source"] for r in rows} == {"cmms"}

    future = run_cli("changes", "--since", "2999-01-01", env=env)
    assert future.returncode == 0 and "0 of 0 changes" in future.stdout
    unknown = run_cli("changes", "--asset", "No Such", env=env)
    assert unknown.returncode == 1 and "No Such" in unknown.stderr
    both = run_cli("changes", "--csv", "a.csv", "--xlsx", "b.xlsx", env=env)
    assert both.returncode == 1 and "not both" in both.stderr

    book = tmp_path / "register.xlsx"
    export = run_cli("export", "--xlsx", str(book), env=env)
    assert export.returncode == 0, export.stderr
    assert "3 assets" in export.stdout and "4 changes of the last 30 days" in export.stdout
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == [
        "Register",
        "Failures of the last full run",
        "Changes (last 30 days)",
        "Needs attention",
        "Columns",
    ]
    assert wb["Register"].max_row == 4
    assert run_cli("export", env=env).returncode == 1

    # A re-import keeps what Innomaint sent for a synced asset unless the sheet is told to win;
    # what it changes is history of source register.
    sheet = tmp_path / "edited.csv"
    sheet.write_text(f"Asset ID,Asset Name,Criticality\n{SPACED},Renamed,Sheet-High\n")
    kept = run_cli("import-assets", str(sheet), env=env)
    assert kept.returncode == 0, kept.stderr
    assert kept.stdout.splitlines()[1] == (
        "kept 1 value Innomaint sent where the sheet differs "
        "(import-assets --sheet-wins to take the sheet's)"
    )
    taken = run_cli("import-assets", str(sheet), "--sheet-wins", env=env)
    assert "took the sheet's 1 value over what Innomaint sent" in taken.stdout, taken.stdout
    edits = run_cli("changes", "--source", "register", env=env)
    assert "Renamed" in edits.stdout and "Sheet-High" in edits.stdout, edits.stdout
    assert "Was-Low" not in edits.stdout and "2 of 2 changes" in edits.stdout


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_file_that_cannot_be_written_is_named_in_one_line_and_nothing_is_left(
    register, db_url, tmp_path
):
    seed_assets(register, asset_ids(2))
    env = base_env(db_url)
    out = tmp_path / "exports"
    out.mkdir()
    book = out / "register.xlsx"
    assert run_cli("export", "--xlsx", str(book), env=env).returncode == 0
    last = book.read_bytes()
    refusals = {
        ("export", "--xlsx", f"{out}/no/such/dir/r.xlsx"): (
            f"cannot write {out}/no/such/dir/r.xlsx: No such file or directory "
            f"(the folder {out}/no/such/dir does not exist)"
        ),
        ("export", "--xlsx", str(out)): f"{out} is a folder: give the path of a file",
        ("export", "--csv", "/dev/full"): "cannot write /dev/full: No space left on device",
        ("export", "--csv", str(book)): (
            f"--csv writes CSV text, but {book} is named for a workbook: name it .csv"
        ),
        ("changes", "--xlsx", f"{out}/r.csv"): (
            f"--xlsx writes a workbook, but {out}/r.csv is named for CSV text: name it .xlsx"
        ),
        ("changes", "--csv", f"{out}/gone/c.csv"): f"cannot write {out}/gone/c.csv",
    }
    for args, says in refusals.items():
        refused = run_cli(*args, env=env)
        assert refused.returncode == 1, (args, refused.stderr)
        assert refused.stderr.startswith(f"error: {says}"), (args, refused.stderr)
        assert "Traceback" not in refused.stderr and len(refused.stderr.splitlines()) == 1
    # The export refused over it is the one written before, and nothing was left beside it.
    assert book.read_bytes() == last
    assert list(out.iterdir()) == [book]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_export_to_standard_output_holds_the_data_alone(register, db_url):
    seed_assets(register, asset_ids(2))
    env = base_env(db_url)
    piped = run_cli("export", "--csv", "/dev/stdout", env=env)
    assert piped.returncode == 0, piped.stderr
    rows = list(csv.DictReader(piped.stdout.removeprefix("\ufeff").splitlines()))
    assert [r["cmms_asset_id"] for r in rows] == asset_ids(2)
    assert piped.stderr == "wrote 2 assets to /dev/stdout\n"
    changes = run_cli("changes", "--csv", "/dev/stdout", env=env)
    assert changes.stdout.removeprefix("\ufeff").splitlines()[1:] == []
    assert changes.stderr == "wrote 0 changes to /dev/stdout\n"


def test_a_misspelt_column_is_refused_naming_the_close_match(tmp_path):
    env = base_env(f"sqlite:///{tmp_path / 'none.db'}")
    proc = run_cli("changes", "--column", "critcality", env=env)
    assert proc.returncode == 2, proc.stdout
    assert "'critcality' is not a column the change history records" in proc.stderr
    assert "did you mean 'criticality'" in proc.stderr
    assert not (tmp_path / "none.db").exists()
