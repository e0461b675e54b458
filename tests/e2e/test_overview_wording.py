"""The overview says its counts in the singular when there is one."""

from __future__ import annotations

from tests.e2e.test_dashboard_security import browser, log_in


def test_a_retention_of_one_day_reads_one_day(register, start_server):
    server = start_server(IC3_LOG_RETENTION_DAYS="1")
    with browser(server) as client:
        log_in(client, server)
        page = client.get("/").text
    assert "Log retention: <strong>1 day</strong>" in page
