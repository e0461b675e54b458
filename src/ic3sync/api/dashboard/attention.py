"""What needs a person, `/attention`: assets failing full run after full run, assets never
synced, and the fields whose last value from Innomaint could not be used."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import Response

from ic3sync.api import present
from ic3sync.api.dashboard.checks import LoggedIn
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.templating import render
from ic3sync.api.deps import Reads
from ic3sync.db.read.attention import FAILING_RUNS, SHOWN

# A streak longer than this is one the log's retention has long pruned.
MAX_RUNS = 1000

router = page_router()


@router.get("/attention", dependencies=[LoggedIn])
def attention_page(
    request: Request,
    reads: Reads,
    runs: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    # A hand-edited ?runs= that is not a count means the default, not an error page.
    value = runs.strip()
    failing_runs = FAILING_RUNS
    if value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_RUNS:
        failing_runs = int(value)
    context = {
        "a": reads.needs_attention(failing_runs=failing_runs),
        "default_runs": FAILING_RUNS,
        "max_runs": MAX_RUNS,
        "shown": SHOWN,
        "reason_kind": present.reason_kind,
    }
    return render(request, "attention.html", context)
