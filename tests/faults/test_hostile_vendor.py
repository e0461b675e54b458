"""A vendor that misbehaves on purpose, against the CLI process: it drips its answer, echoes the
token in JSON escapes, sends an answer of hundreds of MB, or is not there at all. Figures: the
longest a drip held an asset, tokens found in any encoding, peak RSS under an oversized answer,
and the assets attempted before a dead vendor stopped the run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ic3sync.db.engine import make_engine
from ic3sync.innomaint.simulator.payloads import escaped
from tests.faults.checks import tracebacks
from tests.faults.conftest import BACKENDS
from tests.helpers import all_text, seed_assets, table_rows
from tests.procs import base_env, free_port, run_cli, simulator_process

FAMILY = "hostile vendor"
SLASH_TOKEN = "hostile/Token-0123456789/abcdefXYZ"
# Prints the process's peak RSS (VmHWM, KiB) on stderr when `ic3sync` exits. (getrusage's
# ru_maxrss would not do: Linux carries the forking parent's peak across exec.)
PEAK_RSS = (
    "import atexit, re, sys\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('PEAK_RSS_KB', re.search(r'VmHWM:\\s+(\\d+)', status)[1], file=sys.stderr)\n"
    "atexit.register(peak)\n"
    "from ic3sync.cli import app\n"
    "sys.argv = ['ic3sync', *sys.argv[1:]]\n"
    "app()\n"
)


def sync_json(env: dict[str, str]) -> tuple[dict, subprocess.CompletedProcess[str]]:
    done = run_cli("sync", "--json", env=env)
    assert done.stdout.strip(), done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done


def log_rows(db_url: str) -> list[dict]:
    engine = make_engine(db_url)
    try:
        return table_rows(engine, "cmms_sync_log", "log_id")
    finally:
        engine.dispose()


@pytest.fixture
def register(migrated_db_url: str) -> str:
    return migrated_db_url


def seed(db_url: str, ids: list[str]) -> None:
    engine = make_engine(db_url)
    seed_assets(engine, ids)
    engine.dispose()


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_dripping_vendor_holds_each_asset_no_longer_than_the_timeout(register, tmp_path, ledger):
    drips = [f"Drip_{i}" for i in range(3)]
    faults = {sid: {"kind": "drip", "interval_s": 0.1} for sid in drips}
    seed(register, [*drips, "Drip_OK"])
    with simulator_process(tmp_path, faults=faults) as api:
        env = base_env(register, api, INNOMAINT_TIMEOUT_S="1", INNOMAINT_MAX_RETRIES="0")
        result, done = sync_json(env)
    rows = {r["cmms_asset_id"]: r for r in log_rows(register)}
    longest_ms = max(rows[sid]["duration_ms"] for sid in drips)
    assert (result["failed"], result["success"]) == (3, 1), result
    assert all("no answer within 1 s" in rows[sid]["error_message"] for sid in drips)
    # An answer of ~4 KB at 10 bytes a second would hold each asset for minutes.
    assert longest_ms < 2000, longest_ms
    ledger.record(
        FAMILY,
        injected={"drip": len(drips)},
        logged=len(drips),
        tracebacks=len(tracebacks([done.stderr])),
    )
    ledger.note(FAMILY, drip_longest_hold_s=round(longest_ms / 1000, 2), drip_timeout_s=1)


def encodings(token: str) -> list[str]:
    """The forms the token may take in a text: as is, JSON-escaped the PHP way or fully."""
    full = "".join(f"\\u{ord(c):04x}" for c in token)
    return [token, token.replace("/", "\\/"), escaped(token), full, json.dumps(token)[1:-1]]


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_token_echoed_in_json_escapes_is_found_in_no_encoding(register, tmp_path, ledger):
    echoes = [f"Echo_{i}" for i in range(3)]
    seed(register, echoes)
    with simulator_process(
        tmp_path, faults=dict.fromkeys(echoes, "echo_token"), token=SLASH_TOKEN
    ) as api:
        env = base_env(register, api, INNOMAINT_API_TOKEN=SLASH_TOKEN)
        result, done = sync_json(env)
        again = run_cli("sync-one", echoes[0], "--json", env=env)
    engine = make_engine(register)
    stored = all_text(engine)
    engine.dispose()
    texts = [stored, done.stdout, done.stderr, again.stdout, again.stderr]
    found = sum(text.count(form) for text in texts for form in encodings(SLASH_TOKEN))
    assert result["success"] == 3, result
    assert stored.count("***") >= 6  # both echoed values of each asset, replaced
    assert found == 0
    ledger.record(FAMILY, injected={"token echoed in JSON escapes": len(echoes)}, leaks=found)
    ledger.note(FAMILY, tokens_found_any_encoding=found)


def peak_rss_mb(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    """`ic3sync ARGS` run to its end, and the most memory it held (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    line = next(x for x in done.stderr.splitlines() if x.startswith("PEAK_RSS_KB"))
    return int(line.split()[1]) / 1024, done


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_an_oversized_answer_is_cut_off_at_the_cap_without_growing_the_process(
    register, tmp_path, ledger
):
    faults = {
        "Huge_declared": {"kind": "oversized", "mb": 200},
        "Huge_streamed": {"kind": "oversized", "mb": 200, "length": 0},
    }
    seed(register, ["Normal", *faults])
    with simulator_process(tmp_path, faults=faults) as api:
        env = base_env(register, api, INNOMAINT_MAX_RESPONSE_MB="5", INNOMAINT_MAX_RETRIES="0")
        baseline, _ = peak_rss_mb(env, "sync-one", "Normal", "--json")
        peak, done = peak_rss_mb(env, "sync", "--json")
    rows = {r["cmms_asset_id"]: r for r in log_rows(register)}
    assert all("answer too large" in rows[sid]["error_message"] for sid in faults), rows
    # Reading 200 MB whole would add ~200 MB (and its decoded copy); the cap holds 5.
    assert peak - baseline < 40, (peak, baseline)
    ledger.record(
        FAMILY,
        injected={"oversized answer (200 MB)": len(faults)},
        logged=len(faults),
        tracebacks=len(tracebacks([done.stderr])),
    )
    ledger.note(
        FAMILY,
        oversized_peak_rss_mb=round(peak, 1),
        oversized_baseline_rss_mb=round(baseline, 1),
        oversized_cap_mb=5,
    )


@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)
def test_a_dead_vendor_stops_the_run_after_the_consecutive_failure_limit(
    register, tmp_path: Path, ledger
):
    ids = [f"Dead_{i:03d}" for i in range(60)]
    seed(register, ids)
    api = f"http://127.0.0.1:{free_port()}/api/getAssetIDDetailByAssetID"
    env = base_env(register, api, INNOMAINT_MAX_RETRIES="1")
    result, done = sync_json(env)
    statuses = [r["status"] for r in log_rows(register)]
    attempted = statuses.count("failed")
    assert done.returncode == 1 and result["status"] == "aborted", result
    assert attempted == 10 and statuses.count("skipped") == 50  # the default limit, 10
    ledger.record(
        FAMILY,
        injected={"dead vendor (closed port)": 1},
        logged=len(ids),
        tracebacks=len(tracebacks([done.stderr])),
    )
    ledger.note(FAMILY, dead_vendor_assets_attempted=attempted, dead_vendor_assets=len(ids))
