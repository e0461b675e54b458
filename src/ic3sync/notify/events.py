"""Notices about the service rather than one run's outcome (contract rule 15): a scheduled
tick skipped because a run was going, and no full run completed for too long."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from ic3sync.notify.notice import RunNotice
from ic3sync.redact import Redactor


@dataclass(slots=True)
class EventNotice:
    """`event` names what happened for tools that read the JSON (`schedule_skipped`,
    `stale`); `details` are the body's lines; `run_id` and `url` the run it concerns, if any."""

    event: str
    subject: str
    details: list[str] = field(default_factory=list)
    run_id: int | None = None
    url: str | None = None
    sample: bool = False

    @property
    def about(self) -> str:
        return self.event.replace("_", " ")

    def lines(self) -> list[str]:
        link = [f"Run: {self.url}"] if self.url else []
        return [self.subject, *self.details, *link]

    def text(self) -> str:
        return "\n".join(self.lines())

    def html(self) -> str:
        e = html.escape
        parts = [f"<h2>{e(self.subject)}</h2>"] + [f"<p>{e(line)}</p>" for line in self.details]
        if self.url:
            parts.append(f'<p><a href="{e(self.url)}">Open run {self.run_id}</a></p>')
        return "<html><body>" + "".join(parts) + "</body></html>"

    def as_json(self) -> dict[str, Any]:
        return {
            "text": self.text(),
            "event": self.event,
            "run_id": self.run_id,
            "url": self.url,
            "sample": self.sample,
        }

    def redacted(self, redact: Redactor) -> EventNotice:
        self.details = [redact(line) for line in self.details]
        return self


# What a channel delivers: a run's notice or the service's.
Notice = RunNotice | EventNotice
