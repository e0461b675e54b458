"""How the API and the dashboard show what they read: a run's time left, stored numbers with
their exact digits, times and numbers for people, failure reasons grouped by kind, and the
geometry of the runs chart. No I/O, so they are unit-tested alone."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from ic3sync.db.views import AssetDetail, ChangeRow, FailureGroup, RunView
from ic3sync.durations import duration
from ic3sync.errors import HTTP_KINDS, ErrorKind
from ic3sync.mapping import COMPANIONS
from ic3sync.parsing import Unparseable, is_empty

# --- what the API answers -------------------------------------------------------------------


def seconds_left(run: RunView, now: datetime) -> float | None:
    """At the pace so far; None when the run is not going or has logged no asset yet."""
    if run.status != "running" or not run.done or run.total <= run.done:
        return None
    elapsed = (now - run.started_at).total_seconds()
    return round(elapsed / run.done * (run.total - run.done), 1)


def with_time_left(run: RunView, now: datetime | None = None) -> RunView:
    """The run with its eta_s."""
    eta = seconds_left(run, now or datetime.now(UTC))
    return run.model_copy(update={"eta_s": eta})


def exact_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as shown: numerics as text keep their exact digits (in JSON too), dates
    as ISO text."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        out[key] = value
    return out


def asset_shown(detail: AssetDetail) -> AssetDetail:
    """An asset's stored detail with its values as exact_values shows them."""

    def shown(row: dict[str, Any] | None) -> dict[str, Any] | None:
        return exact_values(row) if row is not None else None

    return detail.model_copy(
        update={
            "asset": exact_values(detail.asset),
            "building": shown(detail.building),
            "floor": shown(detail.floor),
            "department": shown(detail.department),
            "performance": shown(detail.performance),
            "workorders": [exact_values(w) for w in detail.workorders],
        }
    )


# --- for people ------------------------------------------------------------------------------


def local_time(value: datetime | None, zone: ZoneInfo) -> str:
    """'2026-11-23 16:50:01 IST' in the dashboard's zone (IC3_TIMEZONE). A time without a zone
    (SQLite hands them back so) was written in UTC."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M:%S ") + (local.tzname() or zone.key)


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def decimal(value: str | Decimal | None, unit: str = "") -> str:
    """A stored numeric as people write it: '13,470.54', '100 %' (not '100.0000')."""
    if value is None or value == "":
        return "—"
    try:
        d = Decimal(value)
    except InvalidOperation:
        return str(value)
    text = f"{d:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} {unit}" if unit else text


def money(value: str | Decimal | None) -> str:
    """Costs keep their two decimals: '13,470.50'."""
    if value is None or value == "":
        return "—"
    try:
        return f"{Decimal(value):,.2f}"
    except InvalidOperation:
        return str(value)


# --- failure reasons ------------------------------------------------------------------------

_NULLS = "stored as NULL: "
# "performance.availability: '104.5' is outside 0-100": a field path, a colon, what was wrong.
_NULL_ITEM = re.compile(r"^[\w]+(?:\.[\w]+)+: ")


def split_reason(text: str | None) -> tuple[list[str], list[str]]:
    """A log row's message as (values stored as NULL, other notes), so a long list of
    unparsed values can fold into a count. ([], [text]) for any other message."""
    if not text:
        return [], []
    if not text.startswith(_NULLS):
        return [], [text]
    items = text[len(_NULLS) :].split("; ")
    nulls = [item for item in items if _NULL_ITEM.match(item)]
    return nulls, [item for item in items if not _NULL_ITEM.match(item)]


# How each kind reads on the page; the HTTP kinds read as their status ('HTTP 404').
_KIND_WORDS: dict[ErrorKind, str] = {
    "auth": "token rejected",
    "timeout": "timeout",
    "connection": "connection error",
    "too_large": "answer too large",
    "not_json": "unreadable answer",
    "bad_answer": "unreadable answer",
    "status_false": "status false",
    "serial_mismatch": "serial mismatch",
    "database": "database",
    "cancelled": "run cancelled",
    "aborted": "run aborted",
}


def reason_kind(kind: ErrorKind | None, http_status: int | None) -> str:
    """The words of a failure's kind, for grouping: 'HTTP 404', 'status false', 'timeout'."""
    if kind in HTTP_KINDS and kind != "auth" and http_status is not None:
        return f"HTTP {http_status}"
    if kind is None:
        return "other"
    return _KIND_WORDS.get(kind, kind.replace("_", " "))


@dataclass(frozen=True, slots=True)
class ReasonGroup:
    kind: str
    count: int
    example: str | None


def group_reasons(groups: Iterable[FailureGroup]) -> list[ReasonGroup]:
    """Fold (kind, status, message) groups into kinds, most frequent first, each with its most
    frequent message as an example."""
    counts: dict[str, int] = {}
    examples: dict[str, tuple[int, str | None]] = {}
    for g in groups:
        kind = reason_kind(g.error_kind, g.http_status)
        counts[kind] = counts.get(kind, 0) + g.count
        if kind not in examples or g.count > examples[kind][0]:
            examples[kind] = (g.count, g.error_message)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [ReasonGroup(kind, n, examples[kind][1]) for kind, n in ordered]


# --- the chart of the last runs -------------------------------------------------------------

CHART_W = 960
CHART_H = 200
PLOT_TOP = 24
PLOT_BOTTOM = 168
# Room on the left for the count axis ("3,000" at the 390 px font size) and on the right for
# the durations' own axis ("2 min 5 s").
PLOT_LEFT = 72
PLOT_RIGHT = 830


@dataclass(frozen=True, slots=True)
class Bar:
    run_id: int
    x: float
    width: float
    success_y: float
    success_h: float
    failed_y: float
    failed_h: float
    skipped_y: float
    skipped_h: float
    duration_y: float | None
    label: str
    running: bool


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    max_count: int
    max_duration: str
    line: str  # SVG points of the duration line

    width: int = CHART_W
    height: int = CHART_H
    top: int = PLOT_TOP
    bottom: int = PLOT_BOTTOM
    left: int = PLOT_LEFT
    right: int = PLOT_RIGHT


def runs_chart(runs: Sequence[RunView], slots: int = 30) -> Chart | None:
    """Stacked success/failed/skipped bars per run, newest at the right edge, and each
    finished run's duration as a line on its own scale. None without runs."""
    if not runs:
        return None
    # A fixed number of slots, filled from the right: bars keep their width and place as
    # runs accumulate, like a time axis.
    ordered = sorted(runs, key=lambda r: r.run_id)[-slots:]
    first_slot = slots - len(ordered)
    max_count = max(max(r.success + r.failed + r.skipped for r in ordered), 1)
    durations = [r.duration_ms for r in ordered if r.duration_ms is not None]
    max_ms = max(durations) if durations else 0
    plot_h = PLOT_BOTTOM - PLOT_TOP
    slot = (PLOT_RIGHT - PLOT_LEFT) / slots
    width = max(slot * 0.7, 2.0)
    bars: list[Bar] = []
    points: list[str] = []
    for i, r in enumerate(ordered, start=first_slot):
        x = PLOT_LEFT + i * slot + (slot - width) / 2
        y = float(PLOT_BOTTOM)
        stacked = []
        for count in (r.success, r.failed, r.skipped):
            h = plot_h * count / max_count
            y -= h
            stacked.append((round(y, 1), round(h, 1)))
        dy = None
        if r.duration_ms is not None and max_ms:
            dy = round(PLOT_BOTTOM - plot_h * r.duration_ms / max_ms, 1)
            points.append(f"{x + width / 2:.1f},{dy}")
        label = (
            f"Run {r.run_id} ({r.status}, {r.trigger}): {r.success:,} synced, "
            f"{r.failed:,} failed, {r.skipped:,} skipped; {duration(r.duration_ms)}"
        )
        (sy, sh), (fy, fh), (ky, kh) = stacked
        bars.append(
            Bar(
                run_id=r.run_id,
                x=round(x, 1),
                width=round(width, 1),
                success_y=sy,
                success_h=sh,
                failed_y=fy,
                failed_h=fh,
                skipped_y=ky,
                skipped_h=kh,
                duration_y=dy,
                label=label,
                running=r.status == "running",
            )
        )
    return Chart(
        bars=bars, max_count=max_count, max_duration=duration(max_ms), line=" ".join(points)
    )


# --- pagination -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Pager:
    page: int
    pages: int
    total: int
    first: int  # 1-based number of the first row shown
    last: int

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None


def pager(page: int, per_page: int, total: int) -> Pager:
    pages = max((total + per_page - 1) // per_page, 1)
    page = min(max(page, 1), pages)
    first = (page - 1) * per_page + 1 if total else 0
    return Pager(page, pages, total, first, min(page * per_page, total))


@dataclass(frozen=True, slots=True)
class ChangeGroup:
    """Changes written together: one asset's in one run or one import (a timeline entry), or
    one column's."""

    key: str
    run_id: int | None  # None for an import's
    changed_at: datetime
    changes: tuple[ChangeRow, ...]
    source: str = "cmms"


def _together(group: ChangeGroup, c: ChangeRow) -> bool:
    if group.source != c.source or group.run_id != c.run_id:
        return False
    # An import is no run: its changes go together by the instant it wrote them.
    return c.run_id is not None or group.changed_at == c.changed_at


def timeline(changes: Iterable[ChangeRow]) -> list[ChangeGroup]:
    """An asset's changes (newest first) as one entry per run or import, in the same order."""
    groups: list[ChangeGroup] = []
    for c in changes:
        if groups and _together(groups[-1], c):
            last = groups[-1]
            groups[-1] = ChangeGroup(
                last.key, last.run_id, last.changed_at, (*last.changes, c), last.source
            )
        else:
            groups.append(ChangeGroup(c.cmms_asset_id, c.run_id, c.changed_at, (c,), c.source))
    return groups


def by_column(changes: Iterable[ChangeRow]) -> dict[str, list[ChangeRow]]:
    """Changes grouped by column, columns in the order they first appear."""
    out: dict[str, list[ChangeRow]] = {}
    for c in changes:
        out.setdefault(c.column_name, []).append(c)
    return out


def unusable(column_name: str, value: str | None) -> bool:
    """Whether a recorded value as sent ("x:y" for an MTTR, "n/a" for an availability) is one
    the sync could not use: its parsed companion was stored as NULL (rule 5). A change to such a
    value is shown as what it is, not as a good new value."""
    if column_name not in COMPANIONS or value is None or is_empty(value):
        return False
    try:
        COMPANIONS[column_name][1](value)
    except Unparseable:
        return True
    return False
