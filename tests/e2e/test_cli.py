"""The `ic3sync` command line as a process, against the simulator as a process, on SQLite and
PostgreSQL: what an operator types and what they get back (output, exit code, tables).

One simulator process serves the module, its fault counts cleared before each test. `migrate` and
`import-assets` as processes are proved by the first test; the others start from a database the
same way migrated and filled in-process (`registered`), and run as processes what they test."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from ic3sync.db.engine import make_engine
from ic3sync.importer import import_assets
from tests.conftest import create_pg_database, drop_pg_database
from tests.helpers import TOKEN, all_text, table_rows
from tests.procs import (
    base_env,
    reset_simulator,
    run_cli,
    simulator_process,
    start_cli,
    wait_until_writing,
)

FAULTS = {
    "Site A_NOTFOUND_01": "not_found",
    "Site A_FALSE_02": "status_false",
    "Site A_HTML_03": "non_json",
    "Site A_OTHER_04": "other_serial",
    "Site A_BADREQ_05": "bad_request",
    "Site A_503_06": {"kind": "unavailable", "times": 1},
    "Site A_429_07": {"kind": "rate_limited", "retry_after": 0, "times": 1},
    "Site A_502_08": {"kind": "bad_gateway", "times": 1},
    "Site A_EMPTY_09": "empty_fields",
    "Site A_STRNUM_10": "string_numbers",
    "Site A_BADNUM_11": "bad_numbers",
    "Site A_RESET_12": {"kind": "reset", "times": 1},
}
PERMANENT = {"Site A_NOTFOUND_01", "Site A_FALSE_02", "Site A_HTML_03", "Site A_OTHER_04"}
PERMANENT |= {"Site A_BADREQ_05"}
HEALTHY = [f"Site B_PUMP_{n:02d}" for n in range(1, 9)]
# Assets whose answer takes a while, so that a run of them can be stopped half-way.
SLOW = [f"Slow_{n:03d}" for n in range(40)]
KILL = [f"Kill_{n:03d}" for n in range(40)]
LONG_ID = "Site C_" + "VERY-LONG-ASSET-IDENTIFIER-" * 4 + "01"
SIMULATOR_FAULTS = {
    **FAULTS,
    **{cid: {"kind": "slow", "ms": 50} for cid in SLOW},
    **{cid: {"kind": "slow", "ms": 40} for cid in KILL},
    LONG_ID: "not_found",
}


@pytest.fixture(scope="module")
def module_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with simulator_process(tmp_path_factory.mktemp("cli-sim"), faults=SIMULATOR_FAULTS) as url:
        yield url


@pytest.fixture
def api(module_simulator: str) -> str:
    """The module's simulator as INNOMAINT_API_URL, each transient fault to be served anew."""
    reset_simulator(module_simulator)
    return module_simulator


def wait_for_successes(db_url: str, proc: subprocess.Popen[str], count: int) -> None:
    """Until the background run has committed `count` assets: a signal sent then lands mid-run
    however slowly the machine started the process."""
    engine = make_engine(db_url)
    deadline = time.monotonic() + 60
    query = sa.text("SELECT COUNT(*) FROM cmms_sync_log WHERE status = 'success'")
    try:
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                with engine.connect() as conn:
                    if conn.execute(query).scalar_one() >= count:
                        return
            except sa.exc.OperationalError:
                pass  # SQLite: the run holds the file for a moment
            assert time.monotonic() < deadline, f"fewer than {count} assets synced in 60 s"
            time.sleep(0.05)
    finally:
        engine.dispose()


def write_register(path: Path, ids: list[str], customer_id: int = 24463) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["S.No", "Asset ID", "Asset Name", "Customer ID", "Criticality"])
        for n, cid in enumerate(ids, start=1):
            writer.writerow([n, cid, f"Pump {n}", customer_id, "Low"])
    return path


def last_json_line(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def migrate_and_import(db_url: str, tmp_path: Path, ids: list[str]) -> dict[str, str]:
    """`ic3sync migrate` twice and `ic3sync import-assets` of `ids`, as processes."""
    env = base_env(db_url)
    first = run_cli("migrate", env=env)
    assert first.returncode == 0, first.stderr
    second = run_cli("migrate", env=env)
    assert second.returncode == 0 and "already" in second.stdout
    imported = run_cli("import-assets", str(write_register(tmp_path / "reg.csv", ids)), env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"{len(ids)} inserted" in imported.stdout
    return env


def registered(migrated_db_url: str, tmp_path: Path, ids: list[str]) -> dict[str, str]:
    """The state `migrate_and_import` leaves, reached in-process: the migrated database with the
    same register imported by the same code; the environment of a process on it."""
    engine = make_engine(migrated_db_url)
    try:
        result = import_assets(engine, write_register(tmp_path / "reg.csv", ids))
    finally:
        engine.dispose()
    assert result.inserted == len(ids)
    return base_env(migrated_db_url)


def test_a_full_run_with_a_fault_of_each_kind_leaves_every_table_consistent(db_url, tmp_path, api):
    ids = list(FAULTS) + HEALTHY
    env = migrate_and_import(db_url, tmp_path, ids)
    env["INNOMAINT_API_URL"] = api
    first = run_cli("sync", "--json", env=env)
    second = run_cli("sync", "--json", env=env)

    assert first.returncode == 3, first.stderr
    result = last_json_line(first.stdout)
    assert (result["total"], result["failed"], result["success"]) == (
        len(ids),
        len(PERMANENT),
        len(ids) - len(PERMANENT),
    )
    failed_ids = {line.split(": ", 1)[0] for line in result["errors"]}
    assert failed_ids == PERMANENT

    engine = make_engine(db_url)
    try:
        logs = table_rows(engine, "cmms_sync_log")
        assert len(logs) == 2 * len(ids)
        by_id = {r["cmms_asset_id"]: r for r in logs if r["run_id"] == result["run_id"]}
        assert by_id["Site A_503_06"]["attempts"] == 2
        assert by_id["Site A_429_07"]["attempts"] == 2
        assert by_id["Site A_NOTFOUND_01"]["http_status"] == 404
        assert "JSON" in by_id["Site A_HTML_03"]["error_message"]
        assert "ticket_count" in by_id["Site A_BADNUM_11"]["error_message"]
        masters = {r["cmms_asset_id"]: r for r in table_rows(engine, "ic3_asset_master")}
        assert {cid for cid, r in masters.items() if r["sync_version"] == 2} == set(ids) - PERMANENT
        assert all(masters[cid]["sync_version"] == 0 for cid in PERMANENT)
        synced = len(ids) - len(PERMANENT)
        assert len(table_rows(engine, "ic3_asset_performance")) == synced
        assert len(table_rows(engine, "ic3_workorder_summary")) == 2 * synced
        runs = table_rows(engine, "cmms_sync_run", "run_id")
        assert [(r["status"], r["success"], r["failed"]) for r in runs] == [
            ("completed", synced, len(PERMANENT))
        ] * 2
        assert TOKEN not in all_text(engine)
    finally:
        engine.dispose()
    for proc in (first, second):
        assert TOKEN not in proc.stdout + proc.stderr


def test_sync_exits_zero_when_every_asset_succeeds_and_only_failed_finds_nothing(
    migrated_db_url, tmp_path, api
):
    env = registered(migrated_db_url, tmp_path, HEALTHY[:3])
    env["INNOMAINT_API_URL"] = api
    done = run_cli("sync", "--json", env=env)
    again = run_cli("sync", "--only-failed", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert last_json_line(done.stdout)["success"] == 3
    assert again.returncode == 0, again.stderr
    assert "no asset matches only failed" in again.stderr
    assert last_json_line(again.stdout) | {"detail": None} == {
        "run_id": None,
        "total": 0,
        "success": 0,
        "failed": 0,
        "skipped": 0,
        "errors": [],
        "duration_ms": 0,
        "status": "no_match",
        "error": None,
        "detail": None,
    }


def test_a_batch_says_what_it_left_and_the_command_of_the_next_batch(
    migrated_db_url, tmp_path, api
):
    env = registered(migrated_db_url, tmp_path, HEALTHY[:5])
    env["INNOMAINT_API_URL"] = api
    first = run_cli("sync", "--batch", "3", env=env)
    assert first.returncode == 0, first.stderr
    told = "2 assets left after this batch; the next batch: ic3sync sync --batch 3 --offset 3"
    assert told in first.stdout, first.stdout
    # The command it printed takes the rest; in --json mode the words go to stderr.
    command = first.stdout.rsplit("the next batch: ic3sync ", 1)[1].split()
    last = run_cli(*command, "--json", env=env)
    assert last.returncode == 0, last.stderr
    assert last_json_line(last.stdout)["total"] == 2
    assert "Nothing left after this batch." in last.stderr


def test_a_sync_of_an_empty_register_says_to_import_it_first(migrated_db_url):
    env = base_env(migrated_db_url, "http://127.0.0.1:9/nothing-listens-here")
    proc = run_cli("sync", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (
        "ic3_asset_master holds no asset yet: import the register first "
        "(`ic3sync import-assets FILE`); nothing to sync\n"
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [(["--customer-id", "99999"], "customer_id 99999"), (["--offset", "500"], "offset 500")],
)
def test_a_selection_that_matches_nothing_says_so_and_records_no_run(
    migrated_db_url, tmp_path, args, words
):
    db_url = migrated_db_url
    env = registered(db_url, tmp_path, HEALTHY[:3])
    # No simulator: nothing may be fetched.
    env["INNOMAINT_API_URL"] = "http://127.0.0.1:9/nothing-listens-here"
    proc = run_cli("sync", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"no asset matches {words}"), proc.stdout
    assert "Traceback" not in proc.stderr
    engine = make_engine(db_url)
    try:
        assert table_rows(engine, "cmms_sync_run") == []
        assert table_rows(engine, "cmms_sync_log") == []
    finally:
        engine.dispose()


def test_sync_without_a_token_stops_at_once_naming_the_variable(migrated_db_url, tmp_path):
    env = registered(migrated_db_url, tmp_path, HEALTHY[:1])
    env.pop("INNOMAINT_API_TOKEN")
    proc = run_cli("sync", env=env, cwd=tmp_path)
    assert proc.returncode == 1
    assert "INNOMAINT_API_TOKEN" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_wrong_token_aborts_the_run_with_exit_one(migrated_db_url, tmp_path, api):
    env = registered(migrated_db_url, tmp_path, HEALTHY[:3])
    env.update(INNOMAINT_API_URL=api, INNOMAINT_API_TOKEN="not-the-right-token")
    proc = run_cli("sync", "--json", env=env)
    assert proc.returncode == 1
    result = last_json_line(proc.stdout)
    assert result["status"] == "aborted" and "token" in result["error"]
    assert (result["failed"], result["skipped"]) == (1, 2)
    assert "not-the-right-token" not in proc.stdout + proc.stderr


def test_an_unreachable_database_is_a_clear_fatal_error(tmp_path):
    env = base_env("postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none")
    proc = run_cli("sync", env=env)
    assert proc.returncode == 1
    assert "database" in proc.stderr and "Traceback" not in proc.stderr
    assert "secret-pw" not in proc.stderr


def test_a_bad_register_names_the_row_and_writes_nothing(migrated_db_url, tmp_path):
    db_url = migrated_db_url
    env = registered(db_url, tmp_path, HEALTHY[:2])
    bad = tmp_path / "bad.csv"
    bad.write_text("Asset ID,Asset Name\nNew_01,Pump\n,Orphan name\n")
    proc = run_cli("import-assets", str(bad), env=env)
    assert proc.returncode != 0
    assert "bad.csv" in proc.stderr and "row 3" in proc.stderr
    engine = make_engine(db_url)
    try:
        ids = {r["cmms_asset_id"] for r in table_rows(engine, "ic3_asset_master")}
    finally:
        engine.dispose()
    assert ids == set(HEALTHY[:2])


def test_sync_one_syncs_an_id_with_spaces(migrated_db_url, tmp_path, api):
    env = registered(migrated_db_url, tmp_path, ["Delhi Cantt Naraina_BP_01"])
    env["INNOMAINT_API_URL"] = api
    proc = run_cli("sync-one", "Delhi Cantt Naraina_BP_01", "--json", env=env)
    missing = run_cli("sync-one", "No such asset", env=env)
    assert proc.returncode == 0, proc.stderr
    payload = last_json_line(proc.stdout)
    assert payload["status"] == "synced" and payload["traceability_id"] > 0
    assert missing.returncode == 1 and "not in ic3_asset_master" in missing.stderr
    assert "import the register: ic3sync import-assets <register.xlsx>" in missing.stderr


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_run_cancels_it_and_keeps_what_committed(migrated_db_url, tmp_path, api, sig):
    db_url = migrated_db_url
    ids = SLOW
    env = registered(db_url, tmp_path, ids)
    env["INNOMAINT_API_URL"] = api
    proc = start_cli("sync", "--json", env=env)
    wait_for_successes(db_url, proc, 3)
    proc.send_signal(sig)
    out, errs = proc.communicate(timeout=30)
    assert proc.returncode == 130, errs
    result = last_json_line(out)
    assert result["status"] == "cancelled"
    assert 0 < result["success"] < len(ids)
    assert result["success"] + result["skipped"] == len(ids)
    engine = make_engine(db_url)
    try:
        run = table_rows(engine, "cmms_sync_run")[0]
        synced = [r for r in table_rows(engine, "ic3_asset_master") if r["sync_version"] == 1]
        logs = table_rows(engine, "cmms_sync_log")
    finally:
        engine.dispose()
    assert (run["status"], run["success"]) == ("cancelled", result["success"])
    assert len(synced) == result["success"]
    assert sum(r["status"] == "success" for r in logs) == result["success"]


def test_a_killed_run_is_marked_interrupted_by_the_next_one(migrated_db_url, tmp_path, api):
    db_url = migrated_db_url
    ids = KILL
    env = registered(db_url, tmp_path, ids)
    env["INNOMAINT_API_URL"] = api
    proc = start_cli("sync", env=env)
    wait_for_successes(db_url, proc, 2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = run_cli("sync", "--only-failed", "--json", env=env)
    full = run_cli("sync", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert full.returncode == 0, full.stderr
    engine = make_engine(db_url)
    try:
        runs = table_rows(engine, "cmms_sync_run", "run_id")
        masters = table_rows(engine, "ic3_asset_master")
        with engine.connect() as conn:
            dupes = conn.execute(
                sa.text(
                    "SELECT asset_id, period_type, COUNT(*) FROM ic3_workorder_summary "
                    "GROUP BY asset_id, period_type HAVING COUNT(*) > 1"
                )
            ).all()
    finally:
        engine.dispose()
    assert runs[0]["status"] == "interrupted"
    # Nothing had failed, so --only-failed matched nothing and recorded no run; it still marked
    # the dead one interrupted.
    assert last_json_line(rerun.stdout)["status"] == "no_match"
    assert [r["status"] for r in runs[1:]] == ["completed"]
    assert all(r["sync_version"] >= 1 for r in masters)
    assert dupes == []


def test_piped_output_is_never_broken_across_lines(migrated_db_url, tmp_path, api):
    long_id = LONG_ID
    env = registered(migrated_db_url, tmp_path, [long_id])
    deep = tmp_path / ("a-folder-with-a-long-name-" * 4) / "registers of the north region"
    deep.mkdir(parents=True)
    bad = deep / "bad register.csv"
    bad.write_text("Asset ID,Asset Name\nNew_01,Pump\n,Orphan name\n")
    proc = run_cli("import-assets", str(bad), env=env)
    assert proc.returncode != 0
    line = next(line for line in proc.stderr.splitlines() if line.startswith("error:"))
    assert str(bad) in line and "row 3" in line, proc.stderr

    env["INNOMAINT_API_URL"] = api
    synced = run_cli("sync", env=env)
    assert synced.returncode == 3, synced.stderr
    failure = next(line for line in synced.stdout.splitlines() if long_id in line)
    assert "404" in failure, synced.stdout


@pytest.mark.parametrize("scheme", ["postgres", "postgresql"])
def test_the_postgresql_urls_people_paste_work(scheme):
    url = create_pg_database()
    try:
        pasted = scheme + url.removeprefix("postgresql+psycopg")
        proc = run_cli("migrate", env=base_env(pasted))
        assert proc.returncode == 0, proc.stderr
        assert "schema upgraded" in proc.stdout
    finally:
        drop_pg_database(url)


@pytest.mark.parametrize(
    "url", ["mysql://user:pw@127.0.0.1/db", "postgresql+psycopg2://u@127.0.0.1/db", "oracle://x"]
)
def test_an_unsupported_database_driver_is_one_line_naming_the_variable(url):
    proc = run_cli("migrate", env=base_env(url))
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: IC3_DATABASE_URL"), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "pw" not in proc.stderr


def test_a_register_with_title_rows_imports_and_names_its_sheet(migrated_db_url, tmp_path):
    import openpyxl

    env = base_env(migrated_db_url)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "November 2026"
    for row in [
        ["IC3 Asset Register - November 2026"],
        [],
        ["S.No", "Asset ID", "Asset Name"],
        [1, "Title_01", "Pump 1"],
        [],
        [2, "Title_02", "Pump 2"],
    ]:
        sheet.append(row)
    path = tmp_path / "register with a title.xlsx"
    book.save(path)

    proc = run_cli("import-assets", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f'{path} (sheet "November 2026"): 2 rows read: 2 inserted, 0 updated, 1 skipped '
        "(0 unchanged, 1 blank)"
    )
    again = run_cli("import-assets", str(path), env=env)
    assert "0 inserted, 0 updated, 3 skipped (2 unchanged, 1 blank)" in again.stdout, again.stdout

    header_only = tmp_path / "header only.csv"
    header_only.write_text("Asset ID,Asset Name\n\n")
    empty = run_cli("import-assets", str(header_only), env=env)
    # A scripted monthly import must notice a register that lost its rows.
    assert empty.returncode == 1, empty.stdout
    assert f"{header_only}: a header on row 1 and no asset rows below it" in empty.stderr


def test_an_excel_csv_and_a_workbook_opening_with_instructions_import_as_told(
    migrated_db_url, tmp_path
):
    import openpyxl

    env = base_env(migrated_db_url)
    excel_csv = tmp_path / "register.csv"
    excel_csv.write_bytes("Asset ID;Asset Name\nCafé_01;Pompe à eau\n".encode("cp1252"))
    book = openpyxl.Workbook()
    book.active.title = "Instructions"
    book.active.append(["One row per asset"])
    book.create_sheet("Assets").append(["Asset ID"])
    book["Assets"].append(["Sheet_01"])
    workbook = tmp_path / "register.xlsx"
    book.save(workbook)

    refused = run_cli("import-assets", str(excel_csv), env=env)
    unknown = run_cli("import-assets", str(excel_csv), "--encoding", "klingon", env=env)
    read = run_cli("import-assets", str(excel_csv), "--encoding", "cp1252", env=env)
    picked = run_cli("import-assets", str(workbook), env=env)
    named = run_cli("import-assets", str(workbook), "--sheet", "Nope", env=env)

    assert refused.returncode == 1 and "--encoding cp1252" in refused.stderr, refused.stderr
    assert unknown.returncode == 2 and "unknown encoding 'klingon'" in unknown.stderr
    assert read.returncode == 0 and "1 inserted" in read.stdout, read.stderr
    assert picked.returncode == 0 and '(sheet "Assets")' in picked.stdout, picked.stderr
    assert named.returncode == 1
    assert 'has no sheet "Nope"; its sheets: "Instructions", "Assets"' in named.stderr


def test_ctrl_c_during_an_import_says_nothing_was_written(migrated_db_url, tmp_path):
    db_url = migrated_db_url
    env = base_env(db_url)
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Asset ID", "Asset Name"])
        writer.writerows([f"Big_{n:06d}", f"Pump {n}"] for n in range(150_000))
    proc = start_cli("import-assets", str(big), env=env)
    wait_until_writing(proc, db_url)  # the import's transaction is under way
    proc.send_signal(signal.SIGINT)
    out, errs = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + errs
    assert "nothing was written" in errs and "Traceback" not in errs
    engine = make_engine(db_url)
    try:
        assert table_rows(engine, "ic3_asset_master") == []
    finally:
        engine.dispose()
