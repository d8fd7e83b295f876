"""Classify page in a real browser: drop or pick a photo, read the answer, correct it.

What a user notices: the photo shows up after a drop or the picker, "No model yet" when nothing
is trained, probability bars and a face box when a model is deployed, a thanks after feedback,
and the API's own message when the upload is not a picture.
"""

from __future__ import annotations

import re
import shutil
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    drop_file,
    file_payload,
    group_members,
    picture,
    save_readme_screenshot,
)
from tests.services import REPO, free_port, port_open

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def untrained_task(live_server):
    """A task of its own with no model, whatever other browser tests train or deploy."""
    name = f"browser_{uuid.uuid4().hex[:6]}"
    response = requests.post(
        live_server.url("/api/admin/tasks"),
        auth=live_server.admin_auth,
        timeout=10,
        json={"name": name, "labels": ["glasses", "no_glasses"]},
    )
    assert response.status_code == 201, response.text
    return name


def open_classify(page, task: str | None = None):
    page.goto("/classify" + (f"?task={task}" if task else ""))
    expect(page.get_by_test_id("task-select")).to_be_enabled()
    if task:
        expect(page.get_by_test_id("task-select")).to_have_value(task)


def feedback_stored(live_server, classification_id: str) -> list[tuple]:
    return live_server.sql(
        "SELECT f.label, f.agrees FROM feedback f JOIN classifications c ON c.id = f.classification_id "
        "WHERE c.public_id = ?",
        classification_id,
    )


def classify(page) -> dict:
    """Press Classify; returns the API's answer the page rendered."""
    with page.expect_response(
        lambda r: r.url.endswith("/api/classify") and r.request.method == "POST"
    ) as answer:
        page.get_by_test_id("classify-submit").click()
    assert answer.value.status == 200, answer.value.text()
    return answer.value.json()


def give_feedback(page, testid: str) -> dict:
    with page.expect_response(lambda r: "/feedback" in r.url) as answer:
        page.get_by_test_id(testid).click()
    assert answer.value.status == 201, answer.value.text()
    expect(page.get_by_test_id("feedback-thanks")).to_be_visible()
    expect(page.get_by_test_id("feedback-thanks")).to_contain_text("Thanks")
    for button in page.get_by_test_id("feedback-buttons").get_by_role("button").all():
        expect(button).to_be_disabled()  # one answer per photo, until the user changes it
    expect(page.get_by_test_id("feedback-change")).to_be_visible()
    return answer.value.json()


def test_drop_a_photo_with_no_model_and_label_it(page, live_server, untrained_task):
    open_classify(page)
    page.get_by_test_id("task-select").select_option(untrained_task)  # the user picks the question
    expect(page).to_have_url(re.compile(rf"task={untrained_task}"))
    expect(page.get_by_test_id("task-hint")).to_contain_text("No model trained yet")
    expect(page.get_by_test_id("classify-submit")).to_be_disabled()
    expect(page.get_by_test_id("result-empty")).to_be_visible()

    highlighted = drop_file(
        page, "[data-testid=classify-dropzone]", "dropped.jpg", picture("astronaut", max_side=256)
    )
    assert highlighted, "the drop zone did not highlight while a file was dragged over it"
    preview = page.get_by_test_id("classify-preview")
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("src", re.compile(r"^blob:"))
    assert preview.evaluate("img => img.complete && img.naturalWidth") == 256
    expect(page.locator("#classify-zone .file-meta .name")).to_have_text("dropped.jpg")
    expect(page.get_by_test_id("classify-dropzone")).not_to_have_class(re.compile("is-dragover"))

    result = classify(page)
    assert (
        result["task"] == untrained_task
        and result["label"] is None
        and result["model_version"] is None
    )
    expect(page.get_by_test_id("no-model")).to_be_visible()
    expect(page.get_by_test_id("no-model")).to_contain_text("No model yet")
    expect(page.get_by_test_id("prediction")).to_be_hidden()
    expect(page.get_by_test_id("result-empty")).to_be_hidden()
    expect(page.get_by_test_id("feedback-label-glasses")).to_have_text("Glasses")
    expect(page.get_by_test_id("feedback-label-no_glasses")).to_have_text("No glasses")

    assert give_feedback(page, "feedback-label-no_glasses")["agrees"] is None
    assert feedback_stored(live_server, result["id"]) == [("no_glasses", None)]


def test_pick_a_photo_with_the_file_chooser_and_label_it(page, live_server, untrained_task):
    open_classify(page, untrained_task)
    with page.expect_file_chooser() as chooser:
        page.get_by_test_id("classify-dropzone").click()  # the whole zone opens the picker
    chooser.value.set_files(
        file_payload("picked.png", picture("astronaut", "PNG", max_side=200), "image/png")
    )
    expect(page.get_by_test_id("classify-preview")).to_be_visible()
    expect(page.locator("#classify-zone .file-meta .name")).to_have_text("picked.png")

    result = classify(page)
    expect(page.get_by_test_id("no-model")).to_be_visible()
    assert give_feedback(page, "feedback-label-glasses")["agrees"] is None
    assert feedback_stored(live_server, result["id"]) == [("glasses", None)]


def test_classify_with_a_trained_model_and_correct_it(page, live_server, gender_model):
    open_classify(page, "gender")
    expect(page.get_by_test_id("task-hint")).to_contain_text(f"Model {gender_model}.")
    drop_file(page, "[data-testid=classify-dropzone]", "astronaut.jpg", picture("astronaut"))
    expect(page.get_by_test_id("classify-preview")).to_be_visible()

    result = classify(page)
    assert result["model_version"] == gender_model and result["label"] in ("female", "male")
    other = "male" if result["label"] == "female" else "female"

    expect(page.get_by_test_id("no-model")).to_be_hidden()
    expect(page.get_by_test_id("predicted-label")).to_have_text(
        result["label"].replace("_", " ").capitalize()
    )
    expect(page.get_by_test_id("predicted-probability")).to_contain_text(
        f"{result['probability'] * 100:.1f}%"
    )
    expect(page.get_by_test_id("model-version")).to_have_text(f"Model version {gender_model}")
    bars = page.get_by_test_id("prob-list").locator("li")
    expect(bars).to_have_count(2)
    expect(bars.first).to_have_attribute("data-label", result["label"])  # most likely first
    expect(bars.first).to_have_class(re.compile("is-top"))
    shown = [float(t.rstrip("%")) for t in page.locator("#prob-list .pct").all_text_contents()]
    assert abs(sum(shown) - 100) < 0.2, shown
    # the bars are drawn to scale: the top bar fills as much of its track as its probability says
    page.wait_for_function(
        """expected => {
      const bar = document.querySelector('#prob-list .prob-bar');
      const ratio = bar.querySelector('.prob-fill').getBoundingClientRect().width / bar.getBoundingClientRect().width;
      return Math.abs(ratio - expected) < 0.03;
    }""",
        arg=max(result["probabilities"].values()),
        timeout=5000,
    )

    # skimage's astronaut has one clear face: the box is drawn over it, inside the photo
    assert result["face_box"], "no face found in skimage.data.astronaut()"
    box = page.get_by_test_id("face-box")
    expect(box).to_be_visible()
    face, photo = box.bounding_box(), page.get_by_test_id("classify-preview").bounding_box()
    assert photo["x"] <= face["x"] and face["x"] + face["width"] <= photo["x"] + photo["width"] + 1
    assert (
        photo["y"] <= face["y"] and face["y"] + face["height"] <= photo["y"] + photo["height"] + 1
    )
    x, y, w, h = result["face_box"]
    natural = page.get_by_test_id("classify-preview").evaluate("i => i.naturalWidth")
    assert abs(face["width"] / photo["width"] - w / natural) < 0.02
    assert abs(face["x"] - photo["x"] - x / natural * photo["width"]) < 3

    expect(page.get_by_test_id("feedback-right")).to_have_text("Right")
    assert give_feedback(page, f"feedback-wrong-{other}")["agrees"] is False
    expect(page.get_by_test_id(f"feedback-wrong-{other}")).to_have_attribute("aria-pressed", "true")
    save_readme_screenshot(
        page, "classify-result"
    )  # docs/screenshot.png comes from here (scripts/screenshot)
    assert feedback_stored(live_server, result["id"]) == [(other, 0)]


def test_a_file_that_is_not_a_picture_shows_the_api_message(page, live_server, untrained_task):
    fake = b"%PDF-1.4 this is a document, not a photo\n" * 20
    expected = requests.post(
        live_server.url("/api/classify"),
        timeout=10,
        files={"image": ("holiday.jpg", fake, "image/jpeg")},
    ).json()["error"]
    page.watch.allow(r"status of 400")  # the provoked 400, logged by the browser
    open_classify(page, untrained_task)
    page.get_by_test_id("classify-input").set_input_files(file_payload("holiday.jpg", fake))

    with page.expect_response(lambda r: r.url.endswith("/api/classify")) as answer:
        page.get_by_test_id("classify-submit").click()
    assert answer.value.status == 400
    alert = page.get_by_test_id("alert-area").get_by_role("alert")
    expect(alert).to_have_text(expected)
    expect(page.get_by_test_id("result-empty")).to_be_visible()
    expect(page.get_by_test_id("classify-submit")).to_be_enabled()  # not stuck busy

    # nothing broke: a real photo now goes through and the old message goes away
    drop_file(
        page, "[data-testid=classify-dropzone]", "real.jpg", picture("astronaut", max_side=200)
    )
    expect(alert).to_have_count(0)
    classify(page)
    expect(page.get_by_test_id("no-model")).to_be_visible()
    expect(page.get_by_test_id("alert-area").get_by_role("alert")).to_have_count(0)


def test_make_run_stops_cleanly_on_ctrl_c(tmp_path):
    """`make run` serves pages and starts both job workers; Ctrl-C (SIGINT to the terminal's
    process group) stops every one of them, frees the port, and prints no traceback."""
    # `make run` itself, told not to (re)install requirements (`-o`: a test never reaches PyPI);
    # the script it runs when the project's venv is somewhere else.
    with_make = (REPO / ".venv" / "bin" / "flask").exists() and shutil.which("make")
    command = (
        ["make", "--no-print-directory", "-o", ".venv/.deps", "run"]
        if with_make
        else ["./scripts/serve"]
    )
    server = LiveServer(tmp_path, free_port(), command=command, migrate=not with_make).start()
    try:
        assert "Classify a photo" in requests.get(server.url("/classify"), timeout=10).text
        members = group_members(server.proc.pid)
        assert sum("gunicorn" in m for m in members) == 3, members  # master + WEB_CONCURRENCY=2
        assert sum("worker --queue style" in m for m in members) == 1, members
        assert sum("worker --queue train" in m for m in members) == 1, members
    finally:
        left = server.stop()
    assert not left, "still running after Ctrl-C:\n" + "\n".join(left)
    assert server.proc.returncode is not None
    assert not port_open("127.0.0.1", server.port), "the port is still taken after Ctrl-C"
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
    if with_make:
        assert "./scripts/serve" in log, log[-3000:]  # make ran the same script
    assert "Handling signal: int" in log and "Shutting down: Master" in log, log[-3000:]  # gunicorn
    assert log.count("Consumer exiting.") == 2, log[-3000:]  # both job workers, not killed mid-way
