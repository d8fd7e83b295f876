"""Every page, public and admin, fits a 390 px phone screen: nothing wider than the screen."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import login, picture, save_screenshot
from tests.services import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a live server and Chromium

PHONE = {"width": 390, "height": 844}


def overflow(page) -> dict | None:
    """The page's width against the screen's, and the widest offenders, when it is too wide."""
    return page.evaluate("""() => {
      const width = document.documentElement.scrollWidth, screen = window.innerWidth;
      if (width <= screen) return null;
      const wide = [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > screen + 0.5)
        .slice(0, 5)
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
             (e.dataset.testid ? '[' + e.dataset.testid + ']' : '') +
             ' right=' + Math.round(e.getBoundingClientRect().right));
      return {scrollWidth: width, innerWidth: screen, wide: wide};
    }""")


def assert_fits(page, name: str) -> None:
    """Fail, with a screenshot, when the page is wider than the screen."""
    page.wait_for_load_state("load")
    page.wait_for_timeout(1000)  # the page's script fills it from the API
    found = overflow(page)
    if found:
        save_screenshot(page, f"overflow-{name}")
    assert found is None, f"{name} is wider than the screen: {found}"


def a_stylization(server) -> str:
    """A finished fast stylization (its id is the 22-character kind that overflowed)."""
    session = requests.Session()
    answer = session.post(
        server.url("/api/stylize"),
        files={
            "content": ("a.jpg", picture("astronaut", max_side=128), "image/jpeg"),
            "style": ("c.jpg", picture("coffee", max_side=128), "image/jpeg"),
        },
        data={"size": "128"},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    sid = answer.json()["id"]
    wait_for(
        lambda: (
            session.get(server.url(f"/api/stylize/{sid}"), timeout=10).json()["status"]
            in ("done", "failed")
        ),
        300,
        interval=0.5,
        message="a fast stylization",
    )
    return sid


def test_every_page_fits_a_phone(browser, live_server):
    sid = a_stylization(live_server)
    context = browser.new_context(base_url=live_server.base_url, viewport=PHONE)
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        public = ["/", "/classify", "/stylize", f"/stylize/{sid}", "/login", "/api/docs", "/nope"]
        for path in public:
            page.goto(path)
            assert_fits(page, path)
        page.goto(f"/stylize/{sid}")
        expect(page.get_by_test_id("job-result")).to_be_visible(timeout=60_000)
        badge = page.get_by_test_id("job-status").bounding_box()
        assert badge["x"] + badge["width"] <= PHONE["width"], badge  # was pushed to 407 px
        assert_fits(page, "stylization done")
        save_screenshot(page, "phone-stylization")

        login(page, live_server)
        jobs = requests.get(
            live_server.url("/api/admin/jobs?limit=1"), auth=live_server.admin_auth, timeout=10
        ).json()
        admin = [
            "/admin",
            "/admin/review",
            "/admin/models",
            "/admin/models/gender",
            "/admin/models/arbitrary",
            "/admin/jobs",
            f"/admin/jobs/{jobs[0]['id']}",
            "/admin/audit",
            "/admin/tasks",
            "/admin/import",
        ]
        for path in admin:
            page.goto(path)
            assert_fits(page, path)
            save_screenshot(page, "phone" + path.replace("/", "-"))
    finally:
        context.close()
