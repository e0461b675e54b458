"""The schedule's reading of IC3_SYNC_CRON and IC3_TIMEZONE, the bounded failure labels of the
metrics and what the request histogram counts: no process."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from ic3sync.errors import ERROR_KINDS, ConfigError
from ic3sync.metrics import SyncMetrics, failure_reason
from ic3sync.model import AssetOutcome
from ic3sync.schedule import Scheduler
from tests.conftest import FIXTURE
from tests.helpers import client_for


def _never() -> None:
    raise AssertionError("not ticked in these tests")


def test_a_nightly_cron_fires_at_2_am_in_the_configured_zone():
    scheduler = Scheduler("0 2 * * *", "Asia/Kolkata", _never)
    now = datetime(2026, 3, 1, 23, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert scheduler.next_time(now) == datetime(2026, 3, 2, 2, 0, tzinfo=ZoneInfo("Asia/Kolkata"))


def test_a_sixth_cron_field_counts_seconds():
    scheduler = Scheduler("* * * * * */10", "UTC", _never)
    now = datetime(2026, 3, 1, 12, 0, 3, tzinfo=ZoneInfo("UTC"))
    assert scheduler.next_time(now) == datetime(2026, 3, 1, 12, 0, 10, tzinfo=ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("cron", "zone", "named"),
    [("every night", "UTC", "IC3_SYNC_CRON"), ("0 2 * * *", "Mars/Olympus", "IC3_TIMEZONE")],
)
def test_a_bad_cron_or_zone_is_a_config_error_naming_the_variable(cron, zone, named):
    with pytest.raises(ConfigError, match=named):
        Scheduler(cron, zone, _never)


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        ("0 25 * * *", "the hour field '25' is not valid: its range is 0-23"),
        ("61 2 * * *", "the minute field '61' is not valid: its range is 0-59"),
        ("0 2 32 * *", "the day of month field '32'"),
        ("0 2 * 13 *", "the month field '13'"),
        ("0 2 * * 8", "the weekday field '8'"),
        ("0 2 * *", "it has 4 fields, not 5"),
    ],
)
def test_a_cron_expression_out_of_range_names_the_field(cron, said):
    with pytest.raises(ConfigError) as caught:
        Scheduler(cron, "UTC", _never)
    assert said in str(caught.value)


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_a_failure_is_labelled_by_its_kind_whatever_its_message_says(kind):
    # The message reads like another kind: the label must come from the kind alone.
    message = "database rejected: no answer within 15 s, HTTP 404, serialnumber"
    outcome = AssetOutcome("A-1", "failed", error=message, http_status=503, error_kind=kind)
    assert failure_reason(outcome) == kind


def test_a_failure_without_a_kind_is_other():
    assert failure_reason(AssetOutcome("A-1", "failed", error="HTTP 404")) == "other"


def test_metrics_count_outcomes_by_status_and_reason():
    metrics = SyncMetrics()
    metrics.asset_done(AssetOutcome("A-1", "success", http_ms=20.0))
    metrics.asset_done(
        AssetOutcome(
            "A-2", "failed", error="HTTP 404 Not Found", http_status=404, error_kind="http_404"
        )
    )
    text = metrics.render().decode()
    assert 'ic3sync_assets_total{reason="",status="success"} 1.0' in text
    assert 'ic3sync_assets_total{reason="http_404",status="failed"} 1.0' in text


def test_the_request_histogram_counts_every_attempt_including_timeouts_and_errors():
    answers = iter(["timeout", 503, "refused", 200])

    def vendor(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if answer == "refused":
            raise httpx.ConnectError("refused", request=request)
        body = json.loads(FIXTURE.read_bytes())
        return httpx.Response(answer, json=body if answer == 200 else {"message": "busy"})

    metrics = SyncMetrics()
    with client_for(
        "http://vendor.test/x",
        transport=httpx.MockTransport(vendor),
        on_attempt=metrics.request_seconds.observe,
    ) as client:
        fetched = client.fetch("Delhi Cantt Naraina_BP_01")
    assert fetched.attempts == 4
    assert "ic3sync_innomaint_request_seconds_count 4.0" in metrics.render().decode()


def test_every_calls_its_check_at_once_then_each_interval_and_survives_a_failure():
    import threading
    import time

    from ic3sync.schedule import Every

    calls: list[int] = []
    three = threading.Event()

    def check() -> None:
        calls.append(1)
        if len(calls) == 3:
            three.set()
        if len(calls) == 1:
            raise RuntimeError("one bad check")

    every = Every(0.05, check, "test-check")
    every.start()
    try:
        assert three.wait(5)
    finally:
        every.stop()
    settled = len(calls)
    time.sleep(0.2)
    assert len(calls) == settled


@pytest.mark.parametrize(
    ("last_started", "now", "outcome"),
    [
        # Yesterday's tick ran; tonight's 02:00 was missed; started 30 min late: run it now.
        (datetime(2026, 3, 1, 2, 0, 1), datetime(2026, 3, 2, 2, 30), "ran"),
        # Started 3 hours late: more than the 60 minutes of grace, told instead.
        (datetime(2026, 3, 1, 2, 0, 1), datetime(2026, 3, 2, 5, 0), "missed"),
        # Tonight's tick ran before the restart: nothing missed.
        (datetime(2026, 3, 2, 2, 0, 1), datetime(2026, 3, 2, 2, 30), None),
        # The schedule never started a run (a first start): nothing missed.
        (None, datetime(2026, 3, 2, 2, 30), None),
    ],
)
def test_a_tick_missed_while_serve_was_down_runs_within_the_grace_or_is_told(
    last_started, now, outcome
):
    from datetime import timedelta

    zone = ZoneInfo("Asia/Kolkata")
    ticks: list[int] = []
    missed: list[tuple[datetime, timedelta]] = []
    scheduler = Scheduler(
        "0 2 * * *",
        "Asia/Kolkata",
        lambda: ticks.append(1),
        grace_min=60,
        last_started=lambda: last_started.replace(tzinfo=zone) if last_started else None,
        missed=lambda due, late: missed.append((due, late)),
    )
    assert scheduler.catch_up(now.replace(tzinfo=zone)) == outcome
    assert ticks == ([1] if outcome == "ran" else [])
    due = datetime(2026, 3, 2, 2, 0, tzinfo=zone)
    assert missed == ([(due, timedelta(hours=3))] if outcome == "missed" else [])


def test_a_scheduler_without_a_run_history_catches_nothing_up():
    assert Scheduler("0 2 * * *", "UTC", _never).catch_up() is None
