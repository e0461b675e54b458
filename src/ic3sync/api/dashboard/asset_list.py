"""The assets page, `/assets`: the register filtered, searched, sorted by the last sync and
paged; the box at the top of every page lands here (or on the asset its id names)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import Response

from ic3sync.api import present
from ic3sync.api.dashboard.checks import LoggedIn
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.runs import page_of
from ic3sync.api.dashboard.templating import asset_url, render, see_other
from ic3sync.api.deps import Reads
from ic3sync.db.read.asset_list import ASSET_SORTS, ASSET_STATES, AssetFilter
from ic3sync.model import INT64_MAX

ASSETS_PER_PAGE = 50
# "Changed in the last N days" goes back at most this far.
MAX_DAYS = 3660

router = page_router()

Text = Annotated[str, Query(max_length=200)]

# How each filter reads in the page's summary.
STATE_WORDS = {
    "failing": "last sync failed",
    "ok": "last sync ok",
    "never": "never synced",
}


def _whole(value: str, maximum: int) -> int | None:
    """A whole number from a hand-editable URL; anything else means "any", not an error."""
    value = value.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= maximum:
        return None
    return int(value)


def _printable(value: str) -> str | None:
    # No id or name holds a control character, and PostgreSQL refuses a NUL in a query.
    return "".join(c for c in value if ord(c) >= 32 and ord(c) != 127).strip() or None


@router.get("/assets", dependencies=[LoggedIn])
def assets_page(
    request: Request,
    reads: Reads,
    id: Text = "",
    q: Text = "",
    state: Text = "",
    changed_days: Text = "",
    column: Text = "",
    customer: Text = "",
    building: Text = "",
    criticality: Text = "",
    sort: Text = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    # The box at the top of every page: an exact id opens its asset, anything else searches.
    if (wanted := _printable(id)) is not None:
        if reads.asset_exists(wanted):
            return see_other(asset_url(wanted))
        q = wanted
    days = _whole(changed_days, MAX_DAYS)
    filters = AssetFilter(
        state=state if state in ASSET_STATES else None,  # type: ignore[arg-type]
        changed_days=days,
        column=_printable(column) if days is not None else None,
        customer_id=_whole(customer, INT64_MAX),
        building_id=_whole(building, INT64_MAX),
        criticality=_printable(criticality),
        search=_printable(q),
    )
    order = sort if sort in ASSET_SORTS else "id"

    def fetch(n: int) -> Any:
        offset = (n - 1) * ASSETS_PER_PAGE
        return reads.list_assets(filters, sort=order, limit=ASSETS_PER_PAGE, offset=offset)

    result, pages = page_of(fetch, page, ASSETS_PER_PAGE)
    context = {
        "assets": result.items,
        "pager": pages,
        "f": filters,
        "sort": order,
        "state_words": STATE_WORDS,
        "customers": reads.register_customers(),
        "buildings": reads.register_buildings(),
        "criticalities": reads.register_criticalities(),
        "reason_kind": present.reason_kind,
        "filtered": filters != AssetFilter(),
    }
    return render(request, "assets.html", context)
