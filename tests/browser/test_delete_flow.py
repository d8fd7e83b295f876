"""In a real browser: the uploader deletes their photo from the result page."""

from __future__ import annotations

import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import drop_file, picture

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_uploader_deletes_a_classified_photo_from_the_result_page(page, live_server):
    name = f"delete_{uuid.uuid4().hex[:6]}"
    response = requests.post(
        live_server.url("/api/admin/tasks"),
        auth=live_server.admin_auth,
        timeout=10,
        json={"name": name, "labels": ["glasses", "no_glasses"]},
    )
    assert response.status_code == 201, response.text
    page.goto(f"/classify?task={name}")
    expect(page.get_by_test_id("task-select")).to_have_value(name)
    drop_file(
        page, "[data-testid=classify-dropzone]", "mine.jpg", picture("astronaut", max_side=200)
    )
    with page.expect_response(lambda r: r.url.endswith("/api/classify")) as answer:
        page.get_by_test_id("classify-submit").click()
    classification_id = answer.value.json()["id"]
    delete = page.get_by_test_id("delete-classification")
    expect(delete).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())  # "This cannot be undone."
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        delete.click()
    assert deleted.value.status == 204
    expect(page.get_by_test_id("result-empty")).to_be_visible()
    expect(delete).to_be_hidden()
    expect(page.locator(".alert-success")).to_contain_text("Deleted")
    rows = live_server.sql("SELECT id FROM classifications WHERE public_id = ?", classification_id)
    assert rows == []
    events = live_server.sql("SELECT action, subject FROM audit_events")
    assert ("delete", f"classification:{classification_id}") in events
