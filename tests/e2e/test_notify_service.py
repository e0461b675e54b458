"""The admin service as a process, on SQLite and PostgreSQL: a run it starts is notified from
its own process, /metrics counts the deliveries, and the dashboard says where notices go and how
long the log is kept, never a secret."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import BROKEN, PREFIX, asset_ids, seed_assets
from tests.receivers import webhook_receiver

SECRET_PATH = "/hooks/T0001/B0002/service-webhook-secret"


def test_a_run_started_through_the_api_is_notified_and_the_dashboard_says_so(
    register, start_server
):
    seed_assets(register, [*asset_ids(2), BROKEN])
    with webhook_receiver(SECRET_PATH) as hook:
        server = start_server(
            IC3_ADMIN_TOKEN="",
            IC3_NOTIFY_WEBHOOK_URL=hook.url,
            IC3_LOG_RETENTION_DAYS="90",
            IC3_PUBLIC_URL="https://ic3.example.org",
        )
        result = server.http.post(f"{PREFIX}/sync").json()
        body = hook.wait()[0]
        page = httpx.get(f"{server.url}/").text
        metrics = httpx.get(f"{server.url}/metrics").text

    assert (result["failed"], body["run_id"], body["trigger"]) == (1, result["run_id"], "api")
    assert body["failures"][0]["cmms_asset_id"] == BROKEN
    assert body["url"] == f"https://ic3.example.org/runs/{result['run_id']}"
    assert 'ic3sync_notifications_total{channel="webhook",outcome="sent"} 1.0' in metrics
    assert "webhook to 127.0.0.1" in page and "failed assets, aborted, interrupted" in page
    assert "90 days" in page
    assert "service-webhook-secret" not in page + server.log()


def test_without_notifications_the_dashboard_says_how_to_set_them(register, start_server):
    server = start_server(IC3_ADMIN_TOKEN="")
    page = httpx.get(f"{server.url}/").text
    assert "No notifications: set IC3_NOTIFY_WEBHOOK_URL" in page and "180 days" in page
