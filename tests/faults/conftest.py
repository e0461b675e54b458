"""Fixtures of the fault suite, and the ledger of its figures.

Every fault test records what it injected and what it found in the session's ledger. With
IC3_FAULTS_REPORT set (`make faults`), the ledger is printed as a table at the end of the session
and written to that path as JSON. Under pytest-xdist each worker keeps its own ledger and hands it
to the controlling process when it is done, which adds them up and reports once.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, MigratedTemplates
from tests.netproxy import TcpProxy

REPORT_ENV = "IC3_FAULTS_REPORT"
WORKER_OUTPUT = "ic3_fault_ledger"
# Process-heavy tests run on PostgreSQL (production) in `make test`, on SQLite as well in
# `make faults`. Used as `@pytest.mark.parametrize("db_url", BACKENDS, indirect=True)`.
BACKENDS = ["postgresql", pytest.param("sqlite", marks=pytest.mark.faults_full)]
FIGURES = ("recovered", "logged", "duplicates", "half_written", "leaks", "tracebacks")


@dataclass
class Family:
    injected: Counter[str] = field(default_factory=Counter)
    recovered: int = 0
    logged: int = 0
    duplicates: int = 0
    half_written: int = 0
    leaks: int = 0
    tracebacks: int = 0
    tests: int = 0
    notes: dict[str, Any] = field(default_factory=dict)

    def merge(self, other: dict[str, Any]) -> None:
        """Add a worker's figures (`raw()` of its Family) to these."""
        self.injected.update(other["injected"])
        for name in (*FIGURES, "tests"):
            setattr(self, name, getattr(self, name) + other[name])
        self.notes.update(other["notes"])

    def raw(self) -> dict[str, Any]:
        return {
            "injected": dict(self.injected),
            **{name: getattr(self, name) for name in (*FIGURES, "tests")},
            "notes": self.notes,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "injected": dict(sorted(self.injected.items())),
            "injected_total": sum(self.injected.values()),
            **{name: getattr(self, name) for name in FIGURES},
            **({"notes": self.notes} if self.notes else {}),
        }


class Ledger:
    def __init__(self) -> None:
        self.families: dict[str, Family] = {}

    def family(self, name: str) -> Family:
        return self.families.setdefault(name, Family())

    def record(
        self, name: str, *, injected: dict[str, int] | None = None, **figures: int
    ) -> Family:
        fam = self.family(name)
        fam.injected.update(injected or {})
        for key, value in figures.items():
            setattr(fam, key, getattr(fam, key) + value)
        fam.tests += 1
        return fam

    def note(self, name: str, **values: Any) -> None:
        """Measurements beside the counts (gaps, timings), shown in the JSON report."""
        self.family(name).notes.update(values)


_LEDGER = Ledger()
_STARTED = time.monotonic()


@pytest.fixture(scope="session")
def ledger() -> Ledger:
    return _LEDGER


@pytest.fixture
def pg_url(migrated_templates: MigratedTemplates) -> Iterator[str]:
    """A migrated PostgreSQL database of its own while the test runs."""
    url = migrated_templates.pg_copy()
    try:
        yield url
    finally:
        migrated_templates.pg_return(url)


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    port = sa.make_url(PG_ADMIN_URL).port or 5432
    with TcpProxy(port) as p:
        yield p


def through(url: str, proxy: TcpProxy) -> str:
    """The same database URL, reached through the proxy."""
    return sa.make_url(url).set(port=proxy.port).render_as_string(hide_password=False)


def table(ledger: Ledger) -> str:
    header = ["family", "injected", "recovered", "logged", "dupes", "half-wr", "leaks", "tracebk"]
    lines = [header]
    for name, fam in ledger.families.items():
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(fam.injected.items()))
        lines.append(
            [name, f"{sum(fam.injected.values())} ({kinds})"]
            + [str(getattr(fam, f)) for f in FIGURES]
        )
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in lines
    )


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist, in the controlling process: a worker's ledger joins the session's."""
    for name, figures in getattr(node, "workeroutput", {}).get(WORKER_OUTPUT, {}).items():
        _LEDGER.family(name).merge(figures)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not os.environ.get(REPORT_ENV) or not _LEDGER.families:
        return
    terminalreporter.section("fault suite figures")
    terminalreporter.write_line(table(_LEDGER))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _is_worker(session.config):
        # Sent to the controlling process, which reports (pytest_testnodedown above).
        session.config.workeroutput[WORKER_OUTPUT] = {  # type: ignore[attr-defined]
            name: fam.raw() for name, fam in _LEDGER.families.items()
        }
        return
    path = os.environ.get(REPORT_ENV)
    if not path or not _LEDGER.families:
        return
    totals = {f: sum(getattr(fam, f) for fam in _LEDGER.families.values()) for f in FIGURES}
    report = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "passed": exitstatus == 0,
        "duration_s": round(time.monotonic() - _STARTED, 1),
        "python": platform.python_version(),
        "families": {name: fam.as_dict() for name, fam in _LEDGER.families.items()},
        "totals": {
            "injected": sum(sum(f.injected.values()) for f in _LEDGER.families.values()),
            **totals,
        },
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(report, indent=2) + "\n")
