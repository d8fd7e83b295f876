"""Stylize page in a real browser: upload two pictures, watch the live progress bar, get, download
and rate the result, and find it again at its own address."""

from __future__ import annotations

import io
import json
import re
import time

import pytest
import requests
from PIL import Image
from playwright.sync_api import expect

from ml.style.methods import NST_DEFAULT_STRENGTH
from tests.browser.conftest import drop_file, file_payload, picture, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def progress_reading(page) -> dict:
    """What the user sees of the job right now: badge, bar value, percent text, result shown."""
    return page.evaluate("""() => {
      const bar = document.getElementById('job-progress');
      return {status: document.getElementById('job-status').textContent,
              value: Number(bar.getAttribute('aria-valuenow')),
              width: bar.querySelector('.progress-fill').style.width,
              percent: document.getElementById('job-percent').textContent,
              barVisible: !document.getElementById('job-progress-block').hidden,
              done: !document.getElementById('job-result').hidden};
    }""")


def watch_progress(page, timeout: float = 480) -> list[dict]:
    """Sample the progress bar as the user would watch it, until the result is shown."""
    readings, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        reading = progress_reading(page)
        if not readings or reading != readings[-1]:
            readings.append(reading)
        if reading["done"] or reading["status"] == "failed":
            return readings
        page.wait_for_timeout(100)
    raise AssertionError(f"no result after {timeout}s; saw {readings[-5:]}")


def test_stylize_with_live_progress_download_and_rating(page, live_server):
    page.goto("/stylize")
    method = page.get_by_test_id("method-select")
    expect(method).to_be_enabled()
    expect(method).to_have_value("arbitrary")  # the fast pretrained network is the default
    method.select_option("nst")  # the classic method: a progress bar to watch
    expect(page.get_by_test_id("method-description")).to_contain_text("at 256 px on a CPU")
    own = NST_DEFAULT_STRENGTH
    expect(page.get_by_test_id("strength-value")).to_have_text(f"{own:.2f}")  # nst's own default
    submit = page.get_by_test_id("stylize-submit")
    expect(submit).to_be_disabled()

    # the smallest output size the page offers keeps this fast
    sizes = (
        page.get_by_test_id("size-select")
        .locator("option")
        .evaluate_all("os => os.map(o => o.value)")
    )
    smallest = min(sizes, key=int)
    page.get_by_test_id("size-select").select_option(smallest)

    # strength with the keyboard, as on any slider: four steps of 0.05 down from the default
    page.get_by_test_id("strength-input").focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    expect(page.get_by_test_id("strength-value")).to_have_text(f"{own - 0.2:.2f}")

    drop_file(
        page, "[data-testid=content-dropzone]", "astronaut.jpg", picture("astronaut", max_side=384)
    )
    expect(page.get_by_test_id("content-preview")).to_be_visible()
    expect(submit).to_be_disabled()  # the classic method needs a style picture too
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("style-dropzone").click()
    chooser.value.set_files(
        file_payload("chelsea.png", picture("chelsea", "PNG", max_side=300), "image/png")
    )
    expect(page.get_by_test_id("style-preview")).to_be_visible()
    expect(submit).to_be_enabled()

    with page.expect_response(
        lambda r: r.url.endswith("/api/stylize") and r.request.method == "POST"
    ) as answer:
        submit.click()
    assert answer.value.status == 202, answer.value.text()
    job_id = answer.value.json()["id"]
    params = json.loads(
        live_server.sql("SELECT params FROM stylizations WHERE public_id = ?", job_id)[0][0]
    )
    assert params["size"] == int(smallest) and params["strength"] == pytest.approx(own - 0.2), (
        params
    )
    expect(page).to_have_url(re.compile(rf"/stylize/{job_id}$"))
    expect(page.get_by_test_id("job-card")).to_be_visible()
    expect(page.get_by_test_id("job-id")).to_have_text(f"#{job_id}")
    expect(submit).to_be_disabled()  # one job at a time from this page

    readings = watch_progress(page)
    assert readings[-1]["done"] and readings[-1]["status"] == "done", readings[-3:]
    running = [r for r in readings if r["status"] == "running" and r["barVisible"]]
    between = sorted({r["value"] for r in running if 0 < r["value"] < 100})
    assert len(between) >= 3, (
        f"the bar hardly moved: {[(r['status'], r['value']) for r in readings]}"
    )
    values = [r["value"] for r in running]
    assert values == sorted(values), f"the bar went backwards: {values}"
    for r in running:  # the bar, its width and its percent text agree
        assert (
            r["percent"] == f"{r['value']}%"
            and abs(float(r["width"].rstrip("%")) - r["value"]) <= 0.6
        ), r

    # the result beside its inputs
    expect(page.get_by_test_id("job-status")).to_have_text("done")
    expect(page.get_by_test_id("job-progress-block")).to_be_hidden()
    for testid in ("result-image", "result-content", "result-style"):
        image = page.get_by_test_id(testid)
        expect(image).to_be_visible()
        page.wait_for_function(
            "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; }",
            arg=testid.replace("data-testid", ""),
        )
    result_size = page.get_by_test_id("result-image").evaluate(
        "i => [i.naturalWidth, i.naturalHeight]"
    )
    assert max(result_size) == int(smallest), result_size
    expect(page.get_by_test_id("job-seconds")).to_contain_text(re.compile(r"Took [\d.]+ s"))
    save_screenshot(page, "stylize-result")

    # Download gives the picture itself
    with page.expect_download() as download:
        page.get_by_test_id("download-link").click()
    assert download.value.suggested_filename == f"celebvision-{job_id}.png"
    data = open(download.value.path(), "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:16]
    assert Image.open(io.BytesIO(data)).size == tuple(result_size)

    # rate it
    page.get_by_test_id("star-4").click()
    expect(page.get_by_test_id("rating-caption")).to_have_text("4 / 5 · Nice")
    expect(page.get_by_test_id("star-4")).to_have_attribute("aria-checked", "true")
    page.get_by_test_id("rating-comment").fill("Love the fur on the suit")
    with page.expect_response(lambda r: r.url.endswith("/rating")) as rated:
        page.get_by_test_id("rating-submit").click()
    assert rated.value.status == 201, rated.value.text()
    expect(page.get_by_test_id("rating-thanks")).to_be_visible()
    expect(page.get_by_test_id("rating-submit")).to_be_hidden()
    expect(page.get_by_test_id("star-5")).to_be_disabled()
    assert live_server.sql(
        "SELECT r.stars, r.comment FROM ratings r JOIN stylizations s ON s.id = r.stylization_id "
        "WHERE s.public_id = ?",
        job_id,
    ) == [(4, "Love the fur on the suit")]

    # its own address shows it again, later, in a fresh tab
    again = page.context.new_page()
    again.goto(f"/stylize/{job_id}")
    expect(again.get_by_test_id("job-status")).to_have_text("done")
    expect(again.get_by_test_id("result-image")).to_be_visible()
    for testid in ("result-image", "result-content", "result-style"):
        again.wait_for_function(
            "id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 0; }",
            arg=testid,
        )
    assert (
        again.get_by_test_id("download-link")
        .get_attribute("href")
        .endswith(f"/api/stylize/{job_id}/result")
    )
    status = requests.get(live_server.url(f"/api/stylize/{job_id}"), timeout=10).json()
    # a stranger holding the link sees the result, not the input photos or the uploader's rating
    assert status["status"] == "done" and status["result_url"]
    assert status["rating"] is None and status["content_url"] is None and status["yours"] is False
    print(
        f"stylization {job_id}: {status['seconds']} s in the worker; bar readings "
        f"{[r['value'] for r in running]}"
    )
    # the rating already given is shown, not offered again
    expect(again.get_by_test_id("star-4")).to_have_attribute("aria-checked", "true")
    expect(again.get_by_test_id("rating-caption")).to_have_text("4 / 5 · Nice")
    expect(again.get_by_test_id("rating-thanks")).to_be_visible()
    again.close()


@pytest.mark.parametrize(
    "viewport",
    [{"width": 1280, "height": 800}, {"width": 390, "height": 844}],
    ids=["desktop", "phone"],
)
def test_a_refused_file_leaves_no_broken_preview(browser, live_server, viewport):
    """A document named .jpg: the API's message, and the drop zone shows the file's name with
    no broken-image icon and clipped "Preview of the chosen photo" beside it."""
    context = browser.new_context(base_url=live_server.base_url, viewport=viewport)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        page.goto("/stylize")
        expect(page.get_by_test_id("method-select")).to_be_enabled()
        fake = b"%PDF-1.4 this is a document, not a photo\n" * 20
        drop_file(page, "[data-testid=content-dropzone]", "holiday.jpg", fake)
        coffee = picture("coffee", max_side=200)
        drop_file(page, "[data-testid=style-dropzone]", "art.jpg", coffee)
        expect(page.get_by_test_id("style-preview")).to_be_visible()
        with page.expect_response(
            lambda r: r.url.endswith("/api/stylize") and r.request.method == "POST"
        ) as answer:
            page.get_by_test_id("stylize-submit").click()
        assert answer.value.status == 400
        expect(page.get_by_test_id("alert-area").get_by_role("alert")).to_be_visible()
        zone = page.get_by_test_id("content-dropzone")
        expect(page.get_by_test_id("content-preview")).to_be_hidden()
        expect(zone).to_contain_text("holiday.jpg")
        broken = zone.locator("img").evaluate_all(
            "imgs => imgs.filter(i => i.offsetParent !== null && !(i.complete && i.naturalWidth))"
            ".map(i => i.alt || i.src)"
        )
        assert broken == [], broken
        size = "desktop" if viewport["width"] > 800 else "phone"
        save_screenshot(page, f"stylize-refused-file-{size}")
        # a real photo afterwards shows its preview again
        me = picture("astronaut", max_side=200)
        drop_file(page, "[data-testid=content-dropzone]", "me.jpg", me)
        expect(page.get_by_test_id("content-preview")).to_be_visible()
    finally:
        context.close()
