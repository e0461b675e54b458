"""The API's documentation pages in a real browser, cut off from every other host: they render
from files the service serves itself, and ask no other host for anything."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_api_docs_render_offline_and_request_nothing_off_host(page: Page, serve_dashboard):
    dash = serve_dashboard()
    own = urlsplit(dash.url).netloc
    off_host: list[str] = []

    def offline(route: Route) -> None:
        # As on a machine without internet: anything for another host fails.
        if urlsplit(route.request.url).netloc != own:
            off_host.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    page.context.route("**/*", offline)
    page.goto(dash.url + "/docs")
    page.locator(".swagger-ui .opblock-summary-path").first.wait_for()
    assert "/api/admin/cmms/sync" in page.locator(".swagger-ui").inner_text()
    assert off_host == []
    # FastAPI's default ReDoc page would load its script from a CDN: it is not served.
    assert page.request.get(dash.url + "/redoc").status == 404
