"""Logging set-up for the command line and the service: readable text or JSON lines."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from datetime import UTC, datetime

from ic3sync.controls import printable

# Attributes a log call may pass through `extra=` and that belong in every format.
CONTEXT_FIELDS = ("run_id", "cmms_asset_id")

# The run and asset a thread is working on, for the lines it writes without naming them.
current_run_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("run_id", default=None)
current_asset: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "cmms_asset_id", default=None
)


class LogContextFilter(logging.Filter):
    """Adds the run and asset a thread is working on to records that do not name them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = current_run_id.get()
        if getattr(record, "cmms_asset_id", None) is None:
            record.cmms_asset_id = current_asset.get()
        return True


def install_log_context() -> None:
    """Attach the filter to the root handlers that setup_logging installed."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, LogContextFilter) for f in handler.filters):
            handler.addFilter(LogContextFilter())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        # JSON escapes C0 itself; C1 (a terminal's CSI among them) and lone surrogates it
        # would write raw.
        return _RAW_IN_JSON.sub(_json_escape, json.dumps(entry, ensure_ascii=False, default=str))


_RAW_IN_JSON = re.compile("[\x7f-\x9f\ud800-\udfff]")


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s%(context)s")

    def format(self, record: logging.LogRecord) -> str:
        parts = [
            f"{name}={getattr(record, name)}"
            for name in CONTEXT_FIELDS
            if getattr(record, name, None) is not None
        ]
        record.context = f" [{' '.join(parts)}]" if parts else ""
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The line itself, escaped: a vendor's CR/LF would forge a line of its own, its ESC
        # drive the terminal. A traceback, appended after this, keeps its newlines.
        return printable(super().formatMessage(record))


class _CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, so a live progress bar that redirects
    stderr prints log lines above itself instead of being torn by them."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self):  # type: ignore[no-untyped-def]
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(fmt: str = "text", level: int = logging.INFO) -> None:
    handler = _CurrentStderrHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(LogContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; one line per asset drowns the useful ones.
    logging.getLogger("httpx").setLevel(logging.WARNING)
