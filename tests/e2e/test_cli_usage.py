"""The command line as a newcomer and an operator meet it, as a process with its output piped:
--version, the help, a busy port, an early Ctrl-C, a bad log format or time zone, and the JSON
log lines."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import httpx
import pytest

from ic3sync.cli import ENV_READ
from ic3sync.config import Settings
from tests.conftest import MigratedTemplates
from tests.e2e.test_cli import registered
from tests.procs import base_env, free_port, ic3sync_cmd, run_cli, simulator_process, stop


def test_version_prints_the_installed_version():
    proc = run_cli("--version", env=base_env("sqlite://"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"ic3sync {version('ic3sync')}"


@pytest.mark.parametrize("command", sorted(ENV_READ))
def test_each_commands_help_names_the_variables_it_reads_and_no_bool_metavar(command):
    proc = run_cli(command, "--help", env=base_env("sqlite://"))
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout
    flat = " ".join(proc.stdout.split())
    for name in ENV_READ[command]:
        assert name in flat, f"{command} --help does not name {name}"


def test_no_help_shows_the_databases_integer_bounds_and_a_number_beyond_them_is_refused():
    env = base_env("sqlite://")
    helps = {command: run_cli(command, "--help", env=env).stdout for command in ENV_READ}
    beyond = run_cli("changes", "--customer-id", str(2**63), env=env)

    shown = [command for command, text in helps.items() if "922337203685477580" in text]
    assert not shown, f"--help of {shown} shows the 64-bit bounds"
    assert "[x>=1]" in helps["sync"]
    assert beyond.returncode == 2 and "beyond what the database can hold" in beyond.stderr


def test_every_setting_is_named_in_some_commands_help():
    named = {name for names in ENV_READ.values() for name in names}
    aliases = {field.validation_alias for field in Settings.model_fields.values()}
    assert aliases <= named, f"not named in any help: {sorted(aliases - named)}"


@pytest.fixture
def migrated_sqlite(tmp_path: Path, migrated_templates: MigratedTemplates) -> str:
    """A SQLite database of the test's own, copied from the suite's migrated template."""
    return migrated_templates.sqlite_copy(tmp_path / "x.db")


def test_serve_on_a_busy_port_is_one_line_and_exit_one(migrated_sqlite):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("serve", "--port", str(port), env=base_env(migrated_sqlite), timeout=60)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot listen on 127.0.0.1:{port}" in lines[0], proc.stderr


@pytest.mark.parametrize("after_s", [0.3, 1.5])
def test_ctrl_c_before_the_run_starts_is_one_line_and_no_traceback(after_s):
    # A database that accepts the connection and never answers: the run can never start.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = base_env(f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/db")
        proc = subprocess.Popen(
            ic3sync_cmd("sync"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(after_s)
        proc.send_signal(signal.SIGINT)
        _, errs = proc.communicate(timeout=30)
    assert proc.returncode == 130, errs
    assert "Traceback" not in errs and "KeyboardInterrupt" not in errs
    assert errs.strip() == "interrupted before anything started; nothing was written"


def test_an_unknown_log_format_is_refused(tmp_path):
    proc = run_cli("migrate", env=base_env(f"sqlite:///{tmp_path / 'x.db'}", IC3_LOG_FORMAT="xml"))
    assert proc.returncode == 1
    assert "IC3_LOG_FORMAT" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("INNOMAINT_TIMEOUT_S", "1e308", "less than or equal to 3600"),
        ("INNOMAINT_RATE_MS", "1000000000000000", "less than or equal to 3600000"),
        ("IC3_LOG_RETENTION_DAYS", "100000000000", "less than or equal to 36500"),
    ],
)
def test_a_number_too_large_to_mean_anything_is_refused_in_one_line(
    migrated_sqlite, name, value, says
):
    # Each of these ended a sync in an OverflowError's traceback, the last after the run.
    proc = run_cli("sync", env=base_env(migrated_sqlite, **{name: value}))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == f"error: invalid configuration: {name}: Input should be {says}\n"


@pytest.mark.parametrize(
    "args",
    [
        ("changes", "--customer-id", "99999999999999999999"),
        ("sync", "--customer-id", "-99999999999999999999"),
        ("sync", "--offset", "99999999999999999999"),
        ("changes", "--limit", "99999999999999999999"),
    ],
)
def test_a_number_beyond_the_databases_integers_is_a_usage_error(migrated_sqlite, args):
    # `changes --customer-id 99999999999999999999` ended in SQLite's OverflowError traceback.
    proc = run_cli(*args, env=base_env(migrated_sqlite))
    assert proc.returncode == 2, proc.stderr
    assert f"Invalid value for '{args[1]}'" in proc.stderr and "Traceback" not in proc.stderr


def test_the_service_refuses_an_unknown_time_zone_before_it_listens(migrated_sqlite):
    # It used to start, answer /healthz 200, and turn every dashboard page into a 503.
    port = free_port()
    proc = run_cli(
        "serve", "--port", str(port), env=base_env(migrated_sqlite, IC3_TIMEZONE="Mars/Olympus")
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (
        "error: invalid configuration: IC3_TIMEZONE: 'Mars/Olympus' is not a time zone name "
        "(e.g. UTC, Asia/Kolkata)\n"
    )
    assert proc.stdout == ""


def test_cli_json_logs_carry_the_run_and_asset_and_each_failure_is_a_warning(
    migrated_db_url, tmp_path
):
    ids = ["Site D_OK_01", "Site D_GONE_02", "Site D_GONE_03"]
    env = registered(migrated_db_url, tmp_path, ids)
    gone = {"Site D_GONE_02": "not_found", "Site D_GONE_03": "status_false"}
    with simulator_process(tmp_path, faults=gone) as api:
        env.update(INNOMAINT_API_URL=api, IC3_LOG_FORMAT="json")
        proc = run_cli("sync", "--json", env=env)
    assert proc.returncode == 3, proc.stderr
    run_id = json.loads(proc.stdout.strip().splitlines()[-1])["run_id"]
    lines = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    failures = [e for e in lines if e["message"].startswith("asset failed")]
    assert {e["cmms_asset_id"] for e in failures} == set(gone)
    assert all(e["level"] == "warning" and e["run_id"] == run_id for e in failures)


def test_the_simulator_on_a_busy_port_is_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))  # a port of its own, never one another test took meanwhile
        busy.listen()
        port = busy.getsockname()[1]
        proc = run_cli("simulator", "--port", str(port), "--token", "t", env=base_env("sqlite://"))
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--port", "99999"),
        ("simulator", "--port", "99999", "--token", "t"),
        ("demo", "--rate-ms", "-5"),
    ],
)
def test_an_option_out_of_its_range_is_a_usage_error_before_anything_runs(tmp_path, args):
    # The simulator ended in an OverflowError traceback; serve said it was "on :99999"; the
    # demo migrated and imported, then failed naming INNOMAINT_RATE_MS, not its option.
    proc = run_cli(*args, env=base_env(f"sqlite:///{tmp_path / 'x.db'}"), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert f"Invalid value for '{args[1]}'" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_serve_on_port_0_says_the_port_it_got(migrated_sqlite):
    proc = subprocess.Popen(
        ic3sync_cmd("serve", "--port", "0"),
        env=base_env(migrated_sqlite),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the service's first line says where it listens
        found = re.search(r"admin service on http://127\.0\.0\.1:(\d+),", first)
        assert found is not None, first
        port = int(found.group(1))
        assert port != 0
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve never answered on the port it named"
                time.sleep(0.05)
    finally:
        stop(proc)


def test_a_sqlite_url_without_its_folder_or_naming_a_folder_says_which(tmp_path, migrated_sqlite):
    # SQLite itself says only "unable to open database file".
    missing = tmp_path / "no" / "such" / "ic3sync.db"
    cases = {
        f"sqlite:///{missing}": f"(the folder {missing.parent} does not exist)",
        f"sqlite:///{tmp_path}": f"({tmp_path} is a folder: name the database file in it)",
    }
    for url, says in cases.items():
        proc = run_cli("migrate", env=base_env(url))
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == (
            f"error: cannot reach the database {url}: unable to open database file {says}\n"
        )
    refused = run_cli("import-assets", str(tmp_path), env=base_env(migrated_sqlite))
    assert refused.returncode == 1
    assert refused.stderr.startswith(
        f"error: {tmp_path}: is a folder: give the .xlsx or .csv file in it\n"
    )


def test_the_simulator_on_a_taken_port_names_the_port():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("simulator", "--port", str(port), "--token", "t", env=base_env("sqlite://"))
    assert proc.returncode == 1, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is taken" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_misspelt_setting_in_env_is_warned_about_by_the_command(tmp_path):
    (tmp_path / ".env").write_text("IC3_DATABSE_URL=postgresql+psycopg://u@127.0.0.1:1/db\n")
    proc = run_cli("prune", "--dry-run", env=base_env("sqlite://"), cwd=tmp_path)
    assert "IC3_DATABSE_URL in .env is not an ic3sync setting" in proc.stderr, proc.stderr
    assert "did you mean IC3_DATABASE_URL?" in proc.stderr
