"""An asset on the dashboard: its page, and syncing it now (the list of them is asset_list.py)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from ic3sync.api import present
from ic3sync.api.dashboard.checks import LoggedIn, SameOrigin
from ic3sync.api.dashboard.errors import page_router
from ic3sync.api.dashboard.runs import start_refusal
from ic3sync.api.dashboard.templating import asset_url, flash, render, see_other
from ic3sync.api.deps import Manager, Reads
from ic3sync.errors import AssetNotFound, AssetSyncFailed, Ic3SyncError
from ic3sync.model import clean_asset_id

# An asset's page shows this many of its changes; the API, `ic3sync changes` and the
# export give all of them.
TIMELINE_SHOWN = 100

router = page_router()


@router.get("/assets/{cmms_asset_id:path}", dependencies=[LoggedIn])
def asset_page(request: Request, reads: Reads, cmms_asset_id: str) -> Response:
    asset_id = clean_asset_id(cmms_asset_id)
    detail = reads.asset_detail(asset_id, log_limit=20)
    changes = reads.asset_changes(asset_id, limit=TIMELINE_SHOWN)
    context = {
        "d": detail,
        "a": detail.asset,
        "timeline": present.timeline(changes.items),
        "changes_total": changes.total,
        "timeline_shown": TIMELINE_SHOWN,
    }
    return render(request, "asset.html", context)


@router.post("/sync/{cmms_asset_id:path}", dependencies=SameOrigin)
def sync_now(request: Request, manager: Manager, cmms_asset_id: str) -> Response:
    asset_id = clean_asset_id(cmms_asset_id)
    try:
        run_id, outcome = manager.sync_now(asset_id, trigger="dashboard")
    except AssetSyncFailed as exc:
        who = "Innomaint answered" if exc.vendor else "The sync stopped"
        flash(request, "error", f"Not synced. {who}: {exc.reason}", f"/runs/{exc.run_id}")
    except AssetNotFound:
        raise
    except Ic3SyncError as exc:
        _, error = start_refusal(exc)
        flash(request, "error", error["text"], error["link"])
    else:
        text = f"Synced now (run {run_id}): traceability id {outcome.traceability_id}."
        if outcome.error:
            text += f" Note: {outcome.error}"
        flash(request, "ok", text, f"/runs/{run_id}")
    return see_other(asset_url(asset_id))
