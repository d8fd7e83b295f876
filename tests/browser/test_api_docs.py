"""The API reference at /api/docs in a real browser: readable offline, no CSP violation, links work."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser]


def test_api_docs_page(page, live_server):
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto("/api/docs")
    expect(page.get_by_test_id("api-title")).to_have_text("CelebVision API")
    operations = page.get_by_test_id("api-op")
    assert operations.count() >= 30
    expect(page.locator("#api-classify-post")).to_contain_text("multipart/form-data")
    expect(page.locator("#admin-create_task-post")).to_contain_text("admin")
    page.get_by_role("link", name="POST /api/stylize", exact=True).click()
    expect(page.locator("#api-stylize-post")).to_be_in_viewport()
    assert all(url.startswith(live_server.base_url) for url in requested), (
        requested
    )  # nothing from elsewhere
    with page.expect_response(lambda r: r.url.endswith("/api/openapi.json")) as answer:
        page.get_by_test_id("openapi-link").click()
    assert answer.value.json()["openapi"].startswith("3.")
