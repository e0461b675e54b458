"""The rules of a run (the contract's behaviour rules), held by the service layer alone: the run
and one asset's sync driven through in-memory fakes of the vendor and the store."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from ic3sync.errors import (
    LOCK_LOST,
    AssetNotFound,
    NoAssetMatches,
    VendorAuthError,
    VendorRejected,
    VendorTransient,
)
from ic3sync.innomaint.simulator import asset_payload
from ic3sync.model import AssetSelection, Observers, RunObserver, SyncResult
from ic3sync.sync import guards
from ic3sync.sync.run import run
from tests.unit.fakes import FakeFetcher, FakeRunStore, register

IDS = [f"Plant {n:02d}_PUMP_{n:02d}" for n in range(1, 9)]


def _run(
    store: FakeRunStore,
    fetcher: FakeFetcher,
    *,
    selection: AssetSelection | None = None,
    cancel: threading.Event | None = None,
    observer: RunObserver | None = None,
) -> SyncResult:
    return run(
        store,
        fetcher,
        trigger="cli",
        selection=selection or AssetSelection(),
        cancel=cancel or threading.Event(),
        observer=observer or Observers(),
    )


def _with(cid: str, **data: Any) -> dict[str, Any]:
    payload = asset_payload(cid)
    payload["response"]["data"].update(data)
    return payload


def test_assets_are_fetched_one_at_a_time_in_register_order():
    store, fetcher = FakeRunStore(register(*IDS)), FakeFetcher()
    result = _run(store, fetcher)
    assert fetcher.requests == IDS
    assert (result.status, result.total, result.success) == ("completed", 8, 8)
    assert [o.cmms_asset_id for o in store.log] == IDS


def test_each_asset_is_committed_before_the_next_request_leaves():
    store = FakeRunStore(register(*IDS))
    seen: list[int] = []
    fetcher = FakeFetcher(before_fetch=lambda _: seen.append(store.commits))
    _run(store, fetcher)
    assert seen == list(range(len(IDS)))


def test_a_failed_asset_is_logged_with_its_reason_and_the_run_goes_on():
    refused = VendorRejected("HTTP 404 Not Found: no such asset", kind="http_404", http_status=404)
    store, fetcher = FakeRunStore(register(*IDS[:3])), FakeFetcher({IDS[1]: refused})
    result = _run(store, fetcher)
    assert (result.status, result.success, result.failed) == ("completed", 2, 1)
    failed = store.log[1]
    assert (failed.status, failed.error_kind, failed.http_status) == ("failed", "http_404", 404)
    assert result.errors == [f"{IDS[1]}: HTTP 404 Not Found: no such asset"]
    assert [cid for cid, _ in store.written] == [IDS[0], IDS[2]]


def test_an_answer_about_another_asset_fails_it_and_writes_nothing_of_it():
    store = FakeRunStore(register(*IDS[:2]))
    fetcher = FakeFetcher({IDS[0]: asset_payload(IDS[1])})
    result = _run(store, fetcher)
    assert (result.success, result.failed) == (1, 1)
    assert store.log[0].error_kind == "serial_mismatch"
    assert IDS[1] in (store.log[0].error or "")
    assert [cid for cid, _ in store.written] == [IDS[1]]


def test_an_empty_api_value_is_not_written_so_the_stored_one_stays():
    store = FakeRunStore(register(IDS[0]))
    fetcher = FakeFetcher({IDS[0]: _with(IDS[0], criticality="  ", barcode="")})
    _run(store, fetcher)
    ((_, rows),) = store.written
    assert "criticality" not in rows.master and "barcode" not in rows.master
    assert rows.master["location_name"]  # what was sent is written


def test_a_value_that_does_not_parse_is_stored_as_null_named_and_the_asset_succeeds():
    store = FakeRunStore(register(IDS[0]))
    _run(store, FakeFetcher({IDS[0]: _with(IDS[0], ticketcount="abc")}))
    ((_, rows),) = store.written
    assert rows.master["ticketcount"] is None
    outcome = store.log[0]
    assert outcome.status == "success"
    assert "data.ticketcount: 'abc' is not an integer" in (outcome.error or "")


def test_a_rejected_token_ends_the_run_at_once_and_the_rest_are_skipped():
    denied = VendorAuthError("Innomaint rejected the API token (HTTP 401)", http_status=401)
    store, fetcher = FakeRunStore(register(*IDS[:5])), FakeFetcher({IDS[1]: denied})
    result = _run(store, fetcher)
    assert fetcher.requests == IDS[:2]
    assert (result.status, result.success, result.failed, result.skipped) == ("aborted", 1, 1, 3)
    assert result.error == denied.reason
    assert [o.status for o in store.log] == ["success", "failed", "skipped", "skipped", "skipped"]


def _down(n: int) -> VendorTransient:
    return VendorTransient(f"connection error {n}", kind="connection")


def test_a_vendor_unreachable_for_the_limit_of_assets_in_a_row_ends_the_run():
    script: dict[str, Any] = {cid: _down(n) for n, cid in enumerate(IDS)}
    script.pop(IDS[2])  # a success in between starts the count again
    store = FakeRunStore(register(*IDS))
    fetcher = FakeFetcher(script, max_consecutive_failures=3)
    result = _run(store, fetcher)
    assert fetcher.requests == IDS[:6]
    assert (result.status, result.success, result.failed, result.skipped) == ("aborted", 1, 5, 2)
    assert result.error == (
        "Innomaint at https://vendor.invalid/api (INNOMAINT_API_URL) could not be reached "
        "for 3 assets in a row; last reason: connection error 5"
    )


def test_failures_of_single_assets_never_trip_the_vendor_breaker():
    refused = VendorRejected("HTTP 404", kind="http_404")
    store = FakeRunStore(register(*IDS))
    fetcher = FakeFetcher(dict.fromkeys(IDS, refused), max_consecutive_failures=2)
    result = _run(store, fetcher)
    assert (result.status, result.failed) == ("completed", 8)


def test_a_cancel_lets_the_asset_in_flight_finish_whole_and_skips_the_rest():
    cancel = threading.Event()
    store = FakeRunStore(register(*IDS[:5]))

    def cancel_at_the_third(cid: str) -> None:
        if cid == IDS[2]:
            cancel.set()

    fetcher = FakeFetcher(before_fetch=cancel_at_the_third)
    result = _run(store, fetcher, cancel=cancel)
    assert fetcher.requests == IDS[:3]
    assert (result.status, result.success, result.skipped) == ("cancelled", 3, 2)
    assert [cid for cid, _ in store.written] == IDS[:3]
    assert store.run.status == "cancelled"


def test_a_cancel_asked_by_another_process_stops_the_run_between_assets(monkeypatch):
    monkeypatch.setattr(guards, "CANCEL_CHECK_S", 0.0)
    store = FakeRunStore(register(*IDS[:5]), cancel_elsewhere_after=2)
    cancel = threading.Event()
    result = _run(store, FakeFetcher(), cancel=cancel)
    assert (result.status, result.success, result.skipped) == ("cancelled", 2, 3)
    assert cancel.is_set()


def test_a_run_that_lost_its_lock_stops_so_two_runs_never_write_at_once(monkeypatch):
    monkeypatch.setattr(guards, "LOCK_CHECK_S", 0.0)
    store = FakeRunStore(register(*IDS[:5]), lock_lost_after=2)
    fetcher = FakeFetcher()
    result = _run(store, fetcher)
    assert (result.status, result.error) == ("aborted", LOCK_LOST)
    assert fetcher.requests == IDS[:2]
    assert result.skipped == 3


def test_rows_the_database_refuses_fail_that_asset_alone():
    store = FakeRunStore(register(*IDS[:3]), refuse={IDS[1]})
    result = _run(store, FakeFetcher())
    assert (result.status, result.success, result.failed) == ("completed", 2, 1)
    assert store.log[1].error_kind == "database"
    assert store.log[1].error == "database rejected the asset's rows: refused by the test"


def test_an_empty_selection_starts_no_run():
    store = FakeRunStore(register(*IDS[:3]))
    with pytest.raises(NoAssetMatches):
        _run(store, FakeFetcher(), selection=AssetSelection(customer_id=99))
    assert store.runs == []


def test_a_run_of_one_unknown_asset_is_refused_before_any_request():
    store, fetcher = FakeRunStore(register(*IDS[:3])), FakeFetcher()
    with pytest.raises(AssetNotFound):
        _run(store, fetcher, selection=AssetSelection(cmms_asset_id="nope"))
    assert fetcher.requests == []


def test_batch_and_offset_take_a_window_of_the_run_order():
    store, fetcher = FakeRunStore(register(*IDS)), FakeFetcher()
    _run(store, fetcher, selection=AssetSelection(batch=3, offset=2))
    assert fetcher.requests == IDS[2:5]


def test_the_result_keeps_the_first_hundred_reasons_and_counts_them_all():
    ids = [f"Missing {n:03d}" for n in range(130)]
    refused = VendorRejected("HTTP 404", kind="http_404")
    store = FakeRunStore(register(*ids))
    result = _run(store, FakeFetcher(dict.fromkeys(ids, refused)))
    assert result.failed == 130 and len(result.errors) == 100
    assert result.errors[0] == "Missing 000: HTTP 404"


class _Breaks(RunObserver):
    def asset_started(self, index: int, asset: Any) -> None:
        if index == 2:
            raise RuntimeError("observer fault")


def test_a_fault_of_the_code_still_ends_the_run_aborted_with_the_rest_skipped():
    store = FakeRunStore(register(*IDS[:5]))
    with pytest.raises(RuntimeError, match="observer fault"):
        _run(store, FakeFetcher(), observer=_Breaks())
    assert store.run.status == "aborted"
    assert [o.status for o in store.log] == ["success"] * 2 + ["skipped"] * 3
