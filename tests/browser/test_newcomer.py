"""A newcomer's first hour, in a real browser, on a desktop (1280x800) and a phone (390x844) screen.

A fresh install starts (its own server: nothing converted, no thumbnail rendered); the home page
says the fast styles are being prepared; the style gallery shows placeholders that fill in as the
thumbnails arrive, without a reload and without a single 404. Then: a fast stylization ("New
stylization" keeps the photo), a preset, Classic at 256 px keeping the face (desktop only), a
task with data imported from the console, a retrain, a classification right after the deploy,
and a rollback that asks first. Every page visited must fit the screen. Screenshots of each step
go to test-artifacts/newcomer-*.png.
"""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from playwright.sync_api import expect

from ml.style.methods import NST_DEFAULT_STRENGTH
from tests.browser.conftest import (
    ARTIFACTS,
    CSP_LISTENER,
    LiveServer,
    PageWatch,
    file_payload,
    login,
    picture,
    require_chromium,
    save_screenshot,
)
from tests.browser.test_admin_flow import LABELS, face_images, mirrored
from tests.browser.test_phone_layout import assert_fits
from tests.services import free_port

# The live server, a first retrain or conversion, then the flow's own waits: past the default limit.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TASK = "newcomer_faces"
FIRST_START_TIMEOUT = 600_000  # ms: converting both networks and painting 26 thumbnails on 2 cores
RETRAIN_TIMEOUT = 300_000
CLASSIC_TIMEOUT = 600_000  # ms: nst at 256 px, 70-110 s on 2 shared cores, minutes more when loaded


@pytest.fixture(scope="module")
def first_start(tmp_path_factory):
    """A product started for the first time: an empty instance, nothing converted yet."""
    require_chromium()
    server = LiveServer(tmp_path_factory.mktemp("first-start"), free_port()).start()
    yield server
    assert not server.stop(), "still running after Ctrl-C"


@pytest.fixture(scope="module")
def faces():
    return face_images()


def open_page(browser, server, viewport):
    context = browser.new_context(base_url=server.base_url, viewport=viewport)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.watch = PageWatch()
    page.add_init_script(CSP_LISTENER)
    page.on("console", page.watch.on_console)
    page.on("pageerror", page.watch.on_page_error)
    return context, page


def shot(page, size: str, step: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, f"newcomer-{size}-{step}")


def thumbnails_arrive(page, size: str, server) -> dict:
    """Open the gallery and watch every thumbnail arrive in place; returns what was seen."""
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: "/thumbnail.jpg" in r.url and statuses.append(r.status),
    )
    page.goto("/stylize")
    expect(page.get_by_test_id("method-select")).to_be_enabled()
    tiles = page.locator("[data-testid^=style-tile-]:not([data-testid=style-tile-own])")
    started = time.monotonic()
    shown_at_first = None
    placeholders_seen = 0
    while time.monotonic() - started < FIRST_START_TIMEOUT / 1000:
        state = page.evaluate("""() => {
          const tiles = [...document.querySelectorAll('.style-tile:not(.style-tile-own)')];
          return {tiles: tiles.length,
                  shown: tiles.filter(t => { const i = t.querySelector('img');
                    return i && i.complete && i.naturalWidth > 0 && !i.classList.contains('is-loading'); }).length,
                  waiting: tiles.filter(t => t.querySelector('.is-loading')).length};
        }""")
        if shown_at_first is None:
            shown_at_first = state
            shot(page, size, "2-gallery-first-view")
        placeholders_seen = max(placeholders_seen, state["waiting"])
        if state["tiles"] == 26 and state["shown"] == 26:
            break
        page.wait_for_timeout(500)
    expect(tiles).to_have_count(26)
    assert page.evaluate(
        "[...document.querySelectorAll('.style-tile img')].every(i => i.naturalWidth > 0)"
    ), "a thumbnail did not arrive without a reload"
    assert 404 not in statuses, statuses
    shot(page, size, "3-gallery-filled")
    assert_fits(page, f"{size} gallery")
    return {
        "first_view": shown_at_first,
        "most_placeholders": placeholders_seen,
        "answers": {s: statuses.count(s) for s in set(statuses)},
        "seconds": round(time.monotonic() - started, 1),
    }


def stylize(page, size: str) -> None:
    """A fast stylization at 256 px; "New stylization" keeps the photo; then a preset."""
    page.get_by_test_id("content-input").set_input_files(
        file_payload("astronaut.jpg", picture("astronaut", max_side=512))
    )
    page.get_by_test_id("style-input").set_input_files(
        file_payload("coffee.jpg", picture("coffee", max_side=512))
    )
    page.get_by_test_id("size-select").select_option("256")
    page.get_by_test_id("stylize-submit").click()
    expect(page.get_by_test_id("job-result")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("job-status")).to_have_text("done")
    page.wait_for_function("document.getElementById('result-image').naturalWidth > 0")
    natural = page.get_by_test_id("result-image").evaluate(
        "i => Math.max(i.naturalWidth, i.naturalHeight)"
    )
    assert natural == 256, natural
    badge = page.get_by_test_id("job-status").bounding_box()
    assert badge["x"] + badge["width"] <= page.viewport_size["width"], badge
    assert_fits(page, f"{size} stylization")
    shot(page, size, "4-stylized")
    if size == "desktop":
        strengths_mean_what_they_say(page)

    page.get_by_test_id("new-stylization").click()
    expect(page.get_by_test_id("job-card")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/stylize$"))
    expect(page.get_by_test_id("content-preview")).to_be_visible()  # the photo stays

    page.get_by_test_id("style-tile-3").click()
    expect(page.get_by_test_id("method-select")).to_have_value("preset")
    expect(page.get_by_test_id("chosen-preset")).to_be_visible()
    page.get_by_test_id("stylize-submit").click()
    expect(page.get_by_test_id("job-result")).to_be_visible(timeout=120_000)
    expect(page.get_by_test_id("job-status")).to_have_text("done")
    assert_fits(page, f"{size} preset")
    shot(page, size, "5-preset")


def _result_pixels(page, previous: str | None, timeout: int = 120_000):
    """The new result picture (not `previous`) as an RGB array, downloaded as the browser shows it."""
    import numpy as np
    from PIL import Image

    page.wait_for_function(
        "prev => { const i = document.getElementById('result-image');"
        " return i.getAttribute('src') && i.getAttribute('src') !== prev && i.naturalWidth > 0; }",
        arg=previous,
        timeout=timeout,
    )
    url = page.get_by_test_id("result-image").get_attribute("src")
    return np.asarray(Image.open(io.BytesIO(page.request.get(url).body())).convert("RGB"), float)


def strengths_mean_what_they_say(page) -> None:
    """Strength 0 gives the photo back (within re-encoding noise); 0.5 and 1 move away from it, in order."""
    import numpy as np
    from PIL import Image

    distance = {}
    for strength in (0.0, 0.5, 1.0):
        previous = page.get_by_test_id("result-image").get_attribute("src")
        page.get_by_test_id("new-stylization").click()
        expect(page.get_by_test_id("job-card")).to_be_hidden()
        page.get_by_test_id("strength-input").evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true})); "
            "el.dispatchEvent(new Event('change', {bubbles: true})); }",
            str(strength),
        )
        page.get_by_test_id("stylize-submit").click()
        result = _result_pixels(page, previous)
        expect(page.get_by_test_id("job-status")).to_have_text("done")
        photo = Image.open(io.BytesIO(picture("astronaut", max_side=512))).convert("RGB")
        photo = np.asarray(photo.resize((result.shape[1], result.shape[0]), Image.LANCZOS), float)
        distance[strength] = float(np.abs(result - photo).mean())
    assert distance[0.0] < 4, distance  # the photo itself, resized and re-encoded
    assert distance[0.0] + 5 < distance[0.5] < distance[1.0], distance


def classic_keeps_the_subject(page, size: str) -> None:
    """Classic (nst) at 256 px and its own default strength: visibly painted (before, its default
    0.5 gave back nearly the photo), yet the face detector still finds the astronaut's face where
    it was in the photo (ml.style.judge.subject_check, which the optimiser does not see), and the
    picture is shown at its own size, not stretched."""
    import numpy as np
    from PIL import Image

    from ml.style import judge

    previous = page.get_by_test_id("result-image").get_attribute("src")
    page.get_by_test_id("new-stylization").click()
    expect(page.get_by_test_id("job-card")).to_be_hidden()
    page.get_by_test_id("method-select").select_option("nst")
    page.get_by_test_id("style-input").set_input_files(
        file_payload("coffee.jpg", picture("coffee", max_side=512))
    )
    page.get_by_test_id("size-select").select_option("256")
    # the slider kept the 1.00 chosen above; the hint offers Classic's own default back
    expect(page.get_by_test_id("strength-value")).to_have_text("1.00")
    own = f"{NST_DEFAULT_STRENGTH:.2f}"
    expect(page.get_by_test_id("strength-default")).to_contain_text(
        f"Classic: minutes on a CPU ({own})"
    )
    page.get_by_test_id("strength-hint").screenshot(
        path=str(ARTIFACTS / f"newcomer-{size}-5b-offer.png")
    )
    page.get_by_test_id("strength-default").click()
    expect(page.get_by_test_id("strength-value")).to_have_text(own)
    expect(page.get_by_test_id("strength-hint")).to_contain_text("Default for Classic")
    expect(page.get_by_test_id("strength-default")).to_have_count(0)
    page.get_by_test_id("stylize-submit").click()
    result = _result_pixels(page, previous, timeout=CLASSIC_TIMEOUT)
    expect(page.get_by_test_id("job-status")).to_have_text("done")
    assert max(result.shape[:2]) == 256, result.shape
    shown, natural = page.get_by_test_id("result-image").evaluate(
        "i => [i.getBoundingClientRect().width, i.naturalWidth]"
    )
    assert shown <= natural + 0.5, (shown, natural)  # a small result is not blown up
    photo = np.asarray(Image.open(io.BytesIO(picture("astronaut", max_side=512))).convert("RGB"))
    check = judge.subject_check(result.astype(np.uint8), photo)
    assert check["face_iou"] is not None and check["kept"], check
    eyes = judge.eyes_check(result.astype(np.uint8), photo)  # no white blotch, no glowing eyes
    assert eyes is not None and eyes["kept"], eyes
    # painted: the judge's content distance at the old default 0.5 was 0.12, at 0.75 0.27
    assert check["content"] > 0.2, check
    assert_fits(page, f"{size} classic")
    shot(page, size, "5b-classic")


def a_zip(faces: dict[str, list[bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for label in LABELS:
            for n, blob in enumerate(faces[label]):
                archive.writestr(f"faces/{label}/{n:03d}.jpg", blob)
    return out.getvalue()


def create_task_and_import(page, size: str, faces) -> None:
    page.goto("/admin/tasks")
    expect(page.get_by_test_id("task-row-gender")).to_be_visible()  # the list has loaded
    if not page.get_by_test_id(f"task-row-{TASK}").count():
        page.get_by_test_id("task-name").fill(TASK)
        page.get_by_test_id("task-labels").fill(", ".join(LABELS))
        page.get_by_test_id("task-create").click()
        page.get_by_test_id("task-created-link").click()
    else:
        page.get_by_test_id(f"task-import-{TASK}").click()
    expect(page.get_by_test_id("import-task")).to_have_value(TASK)
    page.get_by_test_id("zip-input").set_input_files(
        file_payload("faces.zip", a_zip(faces), "application/zip")
    )
    page.get_by_test_id("zip-submit").click()
    expect(page.get_by_test_id("import-state")).to_have_text("done", timeout=90_000)
    added = int(page.get_by_test_id("import-added").inner_text())
    again = int(page.get_by_test_id("import-duplicates").inner_text())
    assert added + again == 200, (added, again)  # the second pass finds them all there already
    expect(page.get_by_test_id("import-all-added")).to_have_text(  # no file needs a look
        "Every file was imported or was there already."
    )
    assert_fits(page, f"{size} import")
    shot(page, size, "6-imported")


def retrain(page, size: str) -> str:
    """Retrain from the Models page, watch it live; deploy the new version by hand if refused."""
    if page.get_by_test_id("import-retrain-link").is_visible():
        page.get_by_test_id("import-retrain-link").click()
    else:  # nothing new was imported: the Models page from the sub-nav
        page.goto(f"/admin/models/{TASK}")
    expect(page.get_by_test_id("model-target")).to_have_text(TASK)
    page.get_by_test_id("retrain-button").click()
    expect(page.get_by_test_id("retrain-live")).to_be_visible()
    expect(page.get_by_test_id("retrain-live-status")).to_have_text("done", timeout=RETRAIN_TIMEOUT)
    expect(page.get_by_test_id("alert")).to_contain_text("Retrain done")
    message = page.get_by_test_id("alert").inner_text()
    version = re.search(r"Retrain done: (v\d+)", message).group(1)
    assert_fits(page, f"{size} retrained")
    shot(page, size, "7-retrained")
    if "was promoted" not in message:
        page.get_by_test_id(f"promote-{version}").click()
        expect(page.get_by_test_id("promote-confirm-text")).to_contain_text(f"Promote {version}")
        page.get_by_test_id("promote-confirm-yes").click()
        expect(page.get_by_test_id("alert")).to_contain_text(
            f"now serves {version}", timeout=60_000
        )
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {version}")
    return version


def classify_now(page, size: str, faces, version: str) -> float:
    """Classify right after the deploy; returns the seconds the first answer took.

    The first answer comes at once, from the new version if this web worker has loaded it and
    otherwise from the previous one, which serves until the new one is loaded in the background
    (every answer names its version). Asked again, the new version answers within a minute or two
    however loaded the machine is.
    """
    page.goto(f"/classify?task={TASK}")
    expect(page.get_by_test_id("task-select")).to_have_value(TASK)
    page.get_by_test_id("classify-input").set_input_files(
        file_payload("me.jpg", mirrored(faces["face"][11]))
    )
    first, deadline = None, time.monotonic() + 180
    while True:
        started = time.monotonic()
        with page.expect_response(
            lambda r: r.url.endswith("/api/classify") and r.request.method == "POST",
            timeout=60_000,
        ) as answer:
            page.get_by_test_id("classify-submit").click()
        first = time.monotonic() - started if first is None else first
        assert answer.value.status == 200, answer.value.text()
        served = answer.value.json()["model_version"]
        if served == version or time.monotonic() > deadline:
            break
        page.wait_for_timeout(2000)
    expect(page.get_by_test_id("model-version")).to_have_text(f"Model version {version}")
    label = page.get_by_test_id("predicted-label").inner_text()
    assert label in ("Face", "Not face"), label  # one way to write a label
    assert_fits(page, f"{size} classify")
    shot(page, size, "8-classified")
    return first


def rollback(page, size: str, current: str) -> str:
    page.goto(f"/admin/models/{TASK}")
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {current}")
    page.get_by_test_id("rollback-button").click()
    text = page.get_by_test_id("rollback-confirm-text")
    expect(text).to_contain_text(f"back from {current} to v")
    back = re.search(rf"from {current} to (v\d+)", text.inner_text()).group(1)
    assert_fits(page, f"{size} rollback confirm")
    page.get_by_test_id("rollback-confirm").scroll_into_view_if_needed()
    save_screenshot(page, f"newcomer-{size}-9-rollback-confirm", full_page=False)
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {current}")  # not yet
    page.get_by_test_id("rollback-confirm-yes").click()
    expect(page.get_by_test_id("alert")).to_contain_text(f"now serves {back}", timeout=60_000)
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {back}")
    page.goto(f"/admin/audit?target={TASK}")
    expect(page.get_by_test_id("audit-previous-0")).to_have_text(current)
    shot(page, size, "10-audit")
    return back


def test_a_newcomers_first_hour(browser, first_start, faces):
    server = first_start
    seen, versions, seconds = {}, [], {}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        context, page = open_page(browser, server, viewport)
        page.watch.allow(r"status of 400")
        try:
            page.goto("/")
            assert_fits(page, f"{size} home")
            if size == "desktop" and "fast style networks warm" not in server.log():
                expect(page.get_by_test_id("styles-preparing")).to_be_visible()
                expect(page.get_by_test_id("styles-preparing-text")).not_to_be_empty()
                seen["home_said_preparing"] = True
            shot(page, size, "1-home")
            seen[size] = thumbnails_arrive(page, size, server)
            page.goto("/")
            expect(page.get_by_test_id("styles-preparing")).to_be_hidden(timeout=30_000)
            page.goto("/stylize")
            stylize(page, size)
            if size == "desktop":  # minutes on a CPU: once is enough
                classic_keeps_the_subject(page, size)
            login(page, server)
            create_task_and_import(page, size, faces)
            versions.append(retrain(page, size))
            seconds[size] = classify_now(page, size, faces, versions[-1])
            if len(versions) > 1:
                back = rollback(page, size, versions[-1])
                assert back == versions[-2]
            else:  # one version: nothing to roll back to yet
                page.goto(f"/admin/models/{TASK}")
                expect(page.get_by_test_id("rollback-button")).to_be_disabled()
            problems = page.watch.unexpected()
            assert not problems, problems
        finally:
            context.close()
    print("newcomer:", seen, versions, {k: round(v, 2) for k, v in seconds.items()})
    log = server.log()
    assert "converting the fast style networks (1/2)" in log, log[-3000:]
    assert re.search(r"rendering preset thumbnails \d+/26", log), log[-3000:]
    # the terminal: the address once the site answered, no TensorFlow start-up noise
    assert f"CelebVision: {server.base_url}" in log, log[-3000:]
    assert "cuInit" not in log and not re.search(r"^[IWE]0000 ", log, re.M), log[-3000:]
