"""A run reads its assets a page at a time by key, and commits each asset before it asks for
the next. Real runs against the simulator, on SQLite and PostgreSQL, with a page of 3 assets so
that every edge is crossed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from ic3sync.db import selection
from ic3sync.db.schema import asset_master
from ic3sync.innomaint.simulator import Simulator, SimulatorConfig, asset_payload
from ic3sync.model import AssetOutcome, AssetRef, AssetSelection, RunObserver
from ic3sync.sync import run_sync
from tests.helpers import TOKEN, OnOutcome, client_for, seed_assets, table_rows

IDS = [f"Page {n:02d}_PUMP_{n:02d}" for n in range(1, 12)]


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(SimulatorConfig(token=TOKEN)) as sim:
        yield sim


@pytest.fixture(autouse=True)
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(selection, "PAGE_SIZE", 3)


def _run(engine: sa.Engine, sim: Simulator, **kw):  # type: ignore[no-untyped-def]
    with client_for(sim.url, cancel=kw.get("cancel")) as client:
        return run_sync(engine, client, trigger="cli", **kw)


def _logged(engine: sa.Engine) -> list[str]:
    return [r["cmms_asset_id"] for r in table_rows(engine, "cmms_sync_log", "log_id")]


def _seed_with_nulls_and_ties(engine: sa.Engine) -> list[str]:
    """IDS with report_seq_no 1,1,1,2,2,NULL,NULL,3,3,3,NULL; returns them in run order."""
    seed_assets(engine, IDS)
    seqs = [1, 1, 1, 2, 2, None, None, 3, 3, 3, None]
    with engine.begin() as conn:
        for cid, seq in zip(IDS, seqs, strict=True):
            conn.execute(
                sa.update(asset_master)
                .where(asset_master.c.cmms_asset_id == cid)
                .values(report_seq_no=seq)
            )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(asset_master.c.cmms_asset_id, asset_master.c.report_seq_no).order_by(
                asset_master.c.asset_id
            )
        ).all()
    ordered = sorted(rows, key=lambda r: (r[1] is None, r[1] or 0, IDS.index(r[0])))
    return [r[0] for r in ordered]


def test_pages_keep_the_run_order_across_ties_and_nulls(engine, simulator):
    expected = _seed_with_nulls_and_ties(engine)
    result = _run(engine, simulator)
    assert (result.total, result.success, result.status) == (11, 11, "completed")
    assert _logged(engine) == expected


def test_offset_and_batch_hold_across_pages(engine, simulator):
    expected = _seed_with_nulls_and_ties(engine)
    result = _run(engine, simulator, selection=AssetSelection(offset=2, batch=7))
    assert result.total == 7
    assert _logged(engine) == expected[2:9]
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["total"], run["success"]) == (7, 7)


def test_a_cancel_mid_page_logs_every_asset_not_reached_as_skipped(engine, simulator):
    expected = _seed_with_nulls_and_ties(engine)
    cancel = threading.Event()
    done: list[AssetOutcome] = []

    def after_each(outcome: AssetOutcome) -> None:
        done.append(outcome)
        if len(done) == 4:  # the first asset of the second page
            cancel.set()

    result = _run(engine, simulator, cancel=cancel, observer=OnOutcome(after_each))
    assert (result.status, result.success, result.skipped, result.total) == ("cancelled", 4, 7, 11)
    logs = table_rows(engine, "cmms_sync_log", "log_id")
    assert [r["cmms_asset_id"] for r in logs] == expected
    assert [r["status"] for r in logs] == ["success"] * 4 + ["skipped"] * 7
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["status"], run["success"], run["skipped"]) == ("cancelled", 4, 7)


class _TamperBefore(RunObserver):
    """Changes an asset's stored barcode, as another writer would, while the run is at an
    earlier asset: after its page was read, before its own sync."""

    def __init__(self, engine: sa.Engine, at_index: int, target: str) -> None:
        self.engine, self.at_index, self.target = engine, at_index, target

    def asset_started(self, index: int, asset: AssetRef) -> None:
        if index == self.at_index:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(asset_master)
                    .where(asset_master.c.cmms_asset_id == self.target)
                    .values(barcode="CHANGED ELSEWHERE")
                )


def test_values_changed_after_the_page_was_read_are_diffed_as_they_are_now(engine, simulator):
    seed_assets(engine, IDS[:6])
    _run(engine, simulator)  # the baseline: records no change
    target = IDS[4]  # on the second page; the tamper happens at the first asset of that page
    result = _run(engine, simulator, observer=_TamperBefore(engine, 3, target))
    assert (result.success, result.failed) == (6, 0)
    changes = table_rows(engine, "ic3_asset_change", "change_id")
    barcode = asset_payload(target)["response"]["data"]["barcode"]
    assert [
        (c["cmms_asset_id"], c["column_name"], c["old_value"], c["new_value"]) for c in changes
    ] == [(target, "barcode", "CHANGED ELSEWHERE", barcode)]


class _SeesEarlierCommits:
    """A fetcher that, before each request leaves, counts from a connection of its own the
    assets this run has logged: each asset must be committed before the next is asked for."""

    def __init__(self, client: Any, engine: sa.Engine) -> None:
        self.client, self.engine = client, engine
        self.public_url = client.public_url
        self.max_consecutive_failures = client.max_consecutive_failures
        self.seen: list[int] = []

    def fetch(self, serialnumber: str) -> Any:
        with self.engine.connect() as other:
            self.seen.append(
                other.execute(
                    sa.select(sa.func.count()).select_from(sa.table("cmms_sync_log"))
                ).scalar_one()
            )
        return self.client.fetch(serialnumber)


def test_each_asset_is_committed_before_the_next_request_leaves(engine, simulator):
    seed_assets(engine, IDS[:7])
    with client_for(simulator.url) as client:
        watching = _SeesEarlierCommits(client, engine)
        result = run_sync(engine, watching, trigger="cli")
    assert result.success == 7
    assert watching.seen == list(range(7))


class _Breaks(RunObserver):
    """An observer with a fault of its own, at the third asset."""

    def asset_started(self, index: int, asset: AssetRef) -> None:
        if index == 2:
            raise RuntimeError("observer fault")


def test_a_fault_of_the_code_mid_run_ends_the_run_row_instead_of_leaving_it_running(
    engine, simulator
):
    seed_assets(engine, IDS[:7])
    with pytest.raises(RuntimeError, match="observer fault"):
        _run(engine, simulator, observer=_Breaks())
    run = table_rows(engine, "cmms_sync_run")[0]
    assert (run["status"], run["success"], run["skipped"]) == ("aborted", 2, 5)
    assert run["error"] == "internal error: RuntimeError: observer fault"
    logs = table_rows(engine, "cmms_sync_log", "log_id")
    assert [r["status"] for r in logs] == ["success"] * 2 + ["skipped"] * 5
    assert [r["cmms_asset_id"] for r in logs] == IDS[:7]


def test_an_answer_about_another_asset_rolls_its_guarded_transaction_back(engine, simulator):
    # An answer that does not map must leave nothing of the asset behind, not even a lock.
    seed_assets(engine, IDS[:5])
    _run(engine, simulator)  # the baseline: the next run has stored values to compare
    before = {r["cmms_asset_id"]: r for r in table_rows(engine, "ic3_asset_master", "asset_id")}
    with Simulator(SimulatorConfig(token=TOKEN, faults={IDS[1]: "other_serial"})) as faulty:
        result = _run(engine, faulty)
    assert (result.success, result.failed, result.status) == (4, 1, "completed")
    logs = [r for r in table_rows(engine, "cmms_sync_log", "log_id") if r["run_id"] == 2]
    assert [(r["cmms_asset_id"], r["status"], r["error_kind"]) for r in logs][:3] == [
        (IDS[0], "success", None),
        (IDS[1], "failed", "serial_mismatch"),
        (IDS[2], "success", None),
    ]
    after = {r["cmms_asset_id"]: r for r in table_rows(engine, "ic3_asset_master", "asset_id")}
    assert after[IDS[1]] == before[IDS[1]]  # not a value of it written
    assert after[IDS[2]]["sync_version"] == before[IDS[2]]["sync_version"] + 1
    # Nor a lock: another writer gets the row at once.
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
        conn.execute(
            sa.update(asset_master)
            .where(asset_master.c.cmms_asset_id == IDS[1])
            .values(criticality="Edited")
        )
