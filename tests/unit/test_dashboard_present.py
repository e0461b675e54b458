"""The dashboard's presentation helpers: durations and times for people, failure kinds, the
chart's geometry and pagination."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from ic3sync.api import present
from ic3sync.api.dashboard.checks import safe_next
from ic3sync.api.dashboard.templating import asset_url
from ic3sync.api.deps import loopback_host, origin_of
from ic3sync.db.views import FailureGroup, RunFilters, RunView
from ic3sync.durations import duration
from ic3sync.errors import ERROR_KINDS, ErrorKind


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "—"),
        (0, "0 ms"),
        (43, "43 ms"),
        (420, "420 ms"),
        (1_040, "1 s"),
        (4_000, "4 s"),
        (9_949, "9.9 s"),
        (42_400, "42 s"),
        (888_000, "14 min 48 s"),
        (900_000, "15 min"),
        (7_500_000, "2 h 5 min"),
        (7_200_000, "2 h"),
        (3 * 86_400_000 + 4 * 3_600_000, "3 d 4 h"),
    ],
)
def test_durations_read_like_people_say_them(ms: int | None, text: str) -> None:
    assert duration(ms) == text


def test_a_stored_duration_keeps_its_hours_past_a_day() -> None:
    assert duration(30_694_003, unit="s", exact=True) == "8,526 h 6 min 43 s"
    assert duration(0, unit="s", exact=True) == "0 s"
    assert duration(None, unit="s", exact=True) == "—"


def test_times_are_shown_in_the_configured_zone() -> None:
    at = datetime(2026, 11, 23, 11, 20, 1, tzinfo=UTC)
    assert present.local_time(at, ZoneInfo("Asia/Kolkata")) == "2026-11-23 16:50:01 IST"
    assert present.local_time(at, ZoneInfo("UTC")) == "2026-11-23 11:20:01 UTC"


@pytest.mark.parametrize(
    ("kind", "status", "words"),
    [
        ("http_404", 404, "HTTP 404"),
        ("http_400", 400, "HTTP 400"),
        ("http_4xx", 422, "HTTP 422"),
        ("server_error", 503, "HTTP 503"),
        ("rate_limited", 429, "HTTP 429"),
        ("auth", 401, "token rejected"),
        ("status_false", 200, "status false"),
        ("serial_mismatch", 200, "serial mismatch"),
        ("timeout", None, "timeout"),
        ("connection", None, "connection error"),
        ("not_json", 200, "unreadable answer"),
        ("bad_answer", 200, "unreadable answer"),
        ("database", None, "database"),
        ("aborted", None, "run aborted"),
        (None, None, "other"),
    ],
)
def test_failures_are_grouped_by_kind(
    kind: ErrorKind | None, status: int | None, words: str
) -> None:
    assert present.reason_kind(kind, status) == words


@pytest.mark.parametrize("kind", ERROR_KINDS)
def test_every_kind_has_words(kind: ErrorKind) -> None:
    words = present.reason_kind(kind, None)
    assert words and "_" not in words


def test_groups_of_one_kind_add_up_most_frequent_first() -> None:
    groups = [
        FailureGroup(
            error_kind="serial_mismatch", http_status=200, error_message="not 'x'", count=1
        ),
        FailureGroup(error_kind="http_404", http_status=404, error_message="gone", count=7),
        FailureGroup(error_kind="http_404", http_status=404, error_message="not found", count=5),
        FailureGroup(error_kind="status_false", http_status=200, error_message="no", count=3),
    ]
    folded = present.group_reasons(groups)
    assert [(g.kind, g.count) for g in folded] == [
        ("HTTP 404", 12),
        ("status false", 3),
        ("serial mismatch", 1),
    ]
    assert folded[0].example == "gone"


def _run(run_id: int, success: int, failed: int, skipped: int, ms: int | None) -> RunView:
    return RunView(
        run_id=run_id,
        trigger="api",
        scope="full",
        status="completed" if ms is not None else "running",
        filters=RunFilters(),
        total=success + failed + skipped,
        success=success,
        failed=failed,
        skipped=skipped,
        done=success + failed + skipped,
        progress_pct=100.0,
        started_at=datetime(2026, 11, 23, tzinfo=UTC),
        duration_ms=ms,
    )


def test_the_chart_stacks_counts_on_one_scale_oldest_first() -> None:
    chart = present.runs_chart([_run(3, 5, 5, 0, None), _run(2, 18, 2, 0, 60_000)])
    assert chart is not None
    assert [b.run_id for b in chart.bars] == [2, 3]
    full = chart.bottom - chart.top
    newer, older = chart.bars[1], chart.bars[0]
    assert older.success_h + older.failed_h == pytest.approx(full)
    assert newer.success_h == pytest.approx(full / 4)
    assert newer.failed_y + newer.failed_h == pytest.approx(newer.success_y)
    # The running run has no duration yet: one point on the line, at the top of its scale.
    assert older.duration_y == chart.top and newer.duration_y is None
    assert chart.line.count(",") == 1
    assert chart.max_duration == "1 min"
    assert "18 synced, 2 failed" in older.label
    assert present.runs_chart([]) is None


def test_a_running_run_has_its_time_left_at_the_pace_so_far() -> None:
    run = _run(5, 30, 10, 0, None).model_copy(update={"total": 100})
    now = run.started_at + timedelta(seconds=20)
    # 40 assets in 20 s: the 60 left take 30 s more.
    assert present.with_time_left(run, now).eta_s == 30.0
    assert present.seconds_left(run.model_copy(update={"done": 0}), now) is None
    finished = run.model_copy(update={"status": "completed"})
    assert present.with_time_left(finished, now).eta_s is None
    assert present.seconds_left(run.model_copy(update={"total": 40}), now) is None


def test_stored_numbers_keep_their_digits_and_dates_read_as_iso_text() -> None:
    at = datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    shown = present.exact_values(
        {"cost": Decimal("13470.50"), "pct": Decimal("100.0000"), "on": date(2024, 2, 29), "at": at}
    )
    assert shown == {"cost": "13470.50", "pct": "100.0000", "on": "2024-02-29", "at": at}


def test_pages_are_clamped_to_what_exists() -> None:
    p = present.pager(3, 25, 60)
    assert (p.page, p.pages, p.first, p.last, p.previous, p.next) == (3, 3, 51, 60, 2, None)
    assert present.pager(9, 25, 60).page == 3
    empty = present.pager(1, 25, 0)
    assert (empty.pages, empty.first, empty.last, empty.next) == (1, 0, 0, None)


def test_asset_links_encode_every_character_an_id_may_hold() -> None:
    assert asset_url("Delhi Cantt Naraina_BP_01") == "/assets/Delhi%20Cantt%20Naraina_BP_01"
    assert asset_url("a/b?c#d") == "/assets/a%2Fb%3Fc%23d"


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/runs/3?status=failed", "/runs/3?status=failed"),
        (None, "/"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ],
)
def test_the_login_returns_only_to_a_page_of_this_site(target: str | None, safe: str) -> None:
    assert safe_next(target) == safe


def test_origins_and_loopback_names() -> None:
    assert origin_of("http://127.0.0.1:9090/runs") == "http://127.0.0.1:9090"
    assert origin_of("null") is None
    assert all(loopback_host(h) for h in ("localhost:9090", "127.0.0.1", "[::1]:9090"))
    assert not any(loopback_host(h) for h in ("evil.example:9090", "10.0.0.5", ""))


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:9090@evil.example",
        "localhost@evil.example",
        "127.0.0.1:9090/evil.example",
        "127.0.0.1 evil.example",
        "127.0.0.1:evil.example",
        "[::1]:9090@evil.example",
        "127.0.0.1:9090:9090",
    ],
)
def test_a_host_header_that_is_not_a_loopback_host_and_port_is_foreign(host: str) -> None:
    assert not loopback_host(host)


def test_stored_numerics_read_as_written_by_people() -> None:
    assert present.decimal("100.0000", "%") == "100 %"
    assert present.decimal("97.2500", "%") == "97.25 %"
    assert present.decimal(None, "%") == "—"
    assert present.money("13470.5") == "13,470.50"
    assert present.money("n/a") == "n/a"


def test_a_long_list_of_unparsed_values_splits_from_the_notes() -> None:
    text = (
        "stored as NULL: data.ticketcount: -5 is a negative count; "
        "performance.availability: '104.5' is outside 0-100; "
        "data.id 577834 differs from traceid 577833; traceid kept"
    )
    nulls, notes = present.split_reason(text)
    assert nulls == [
        "data.ticketcount: -5 is a negative count",
        "performance.availability: '104.5' is outside 0-100",
    ]
    assert "data.id 577834 differs from traceid 577833" in notes
    assert present.split_reason("HTTP 404 Not Found") == ([], ["HTTP 404 Not Found"])
    assert present.split_reason(None) == ([], [])
