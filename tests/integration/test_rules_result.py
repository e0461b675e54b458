"""The SyncResult's errors list: the contract allows at most 100 entries, and a run with more
failures than that shows exactly 100 of them (all are in cmms_sync_log). SQLite and PostgreSQL."""

from __future__ import annotations

import json

from ic3sync.api.schemas import SyncResultBody
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, client_for, seed_assets, table_rows

CONTRACT_LIMIT = 100


def test_a_run_with_more_than_100_failures_lists_exactly_100(engine):
    ids = [f"Gone {n:03d}_PUMP" for n in range(CONTRACT_LIMIT + 3)]
    seed_assets(engine, ids)
    with (
        Simulator(SimulatorConfig(token=TOKEN, faults=dict.fromkeys(ids, "not_found"))) as sim,
        client_for(sim.url) as client,
    ):
        result = run_sync(engine, client, trigger="cli")

    assert (result.total, result.failed) == (len(ids), len(ids))
    expected = [f"{cid}: HTTP 404 Not Found" for cid in ids[:CONTRACT_LIMIT]]
    assert [e.split(":", 1)[0] for e in result.errors] == ids[:CONTRACT_LIMIT]
    assert [e[: len(x)] for e, x in zip(result.errors, expected, strict=True)] == expected
    # What the command line prints with --json and the HTTP API answers.
    shown = json.loads(json.dumps(result.as_dict()))
    assert shown["errors"] == result.errors
    assert SyncResultBody.of(result).errors == result.errors
    logged = [r for r in table_rows(engine, "cmms_sync_log") if r["status"] == "failed"]
    assert len(logged) == len(ids)
