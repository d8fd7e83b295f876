"""The classify page with the shipped face models, in a real browser: every face of a group photo
boxed, numbered and answered; a coffee cup answered "No face found" with "There is no face here";
a changed mind; the age brackets shown exactly as the task names them on every page.

Its own live server (the shared one trains gender from users' labels and ships no models).
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
import requests
from PIL import Image as PILImage
from playwright.sync_api import expect

from tests.browser.conftest import (
    LiveServer,
    drop_file,
    login,
    picture,
    require_chromium,
    save_screenshot,
)
from tests.services import free_port

# The live server, a first retrain or conversion, then the flow's own waits: past the default limit.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The product as a fresh install runs it: the shipped gender, smiling and age models."""
    from tests.conftest import PRETRAINED_CACHE

    require_chromium()
    server = LiveServer(tmp_path_factory.mktemp("live-faces"), free_port())
    server.env.update({"SHIPPED_FACE_MODELS": "1", "PRETRAINED_CACHE_DIR": str(PRETRAINED_CACHE)})
    server.start()
    # the first look registers the three shipped v1 models (converted once per machine)
    tasks = requests.get(server.url("/api/tasks"), timeout=300).json()
    assert {t["name"]: t["model_version"] for t in tasks}["age"] == "v1", tasks
    yield server
    server.stop()


def group_jpeg() -> bytes:
    """Three people: the tests/faces/test_face_api.py group photo."""
    from tests.faces.test_face_api import group_photo

    out = io.BytesIO()
    PILImage.fromarray(group_photo()).save(out, format="JPEG", quality=92)
    return out.getvalue()


def classify(page, task: str, name: str, data: bytes) -> dict:
    page.goto(f"/classify?task={task}")
    expect(page.get_by_test_id("task-select")).to_have_value(task)
    drop_file(page, "[data-testid=classify-dropzone]", name, data)
    expect(page.get_by_test_id("classify-preview")).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/api/classify")) as answer:
        page.get_by_test_id("classify-submit").click()
    assert answer.value.status == 200, answer.value.text()
    return answer.value.json()


def answer_with(page, testid: str) -> dict:
    with page.expect_response(lambda r: "/feedback" in r.url) as answer:
        page.get_by_test_id(testid).click()
    assert answer.value.status == 201, answer.value.text()
    expect(page.get_by_test_id("feedback-thanks")).to_be_visible()
    expect(page.get_by_test_id("feedback-change")).to_be_visible()
    return answer.value.json()


def test_every_face_of_a_group_photo_is_boxed_answered_and_labelled(page, live_server):
    result = classify(page, "gender", "group.jpg", group_jpeg())
    assert len(result["faces"]) == 3
    boxes = [page.get_by_test_id("face-box")] + [
        page.get_by_test_id(f"face-box-{i}") for i in (1, 2)
    ]
    photo = page.get_by_test_id("classify-preview").bounding_box()
    natural = page.get_by_test_id("classify-preview").evaluate("i => i.naturalWidth")
    for i, box in enumerate(boxes):
        expect(box).to_be_visible()
        expect(box).to_contain_text(str(i + 1))  # numbered
        drawn, (x, _, w, _) = box.bounding_box(), result["faces"][i]["face_box"]
        assert abs(drawn["x"] - photo["x"] - x / natural * photo["width"]) < 4
        assert abs(drawn["width"] / photo["width"] - w / natural) < 0.02
    expect(page.get_by_test_id("faces-title")).to_contain_text("3 faces found")
    third = result["faces"][2]
    page.get_by_test_id("face-pick-2").click()
    expect(page.get_by_test_id("predicted-probability")).to_contain_text("Face 3")
    expect(page.get_by_test_id("predicted-label")).to_have_text(third["label"].capitalize())
    # the face's picture beside its answer is drawn (not blank)
    drawn = page.get_by_test_id("face-chip-2").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data).some(v => v > 0)"
    )
    assert drawn
    save_screenshot(page, "faces-group")
    stored = answer_with(page, "feedback-right")
    assert stored == {
        "agrees": True,
        "label": third["label"],
        "face": 2,
        "no_face": False,
        "counts": True,
    }
    page.get_by_test_id("face-pick-0").click()  # another face: its own, unanswered buttons
    expect(page.get_by_test_id("feedback-right")).to_be_enabled()
    expect(page.get_by_test_id("feedback-thanks")).to_be_hidden()


def test_a_coffee_cup_has_no_face_and_the_user_changes_their_mind(page, live_server):
    result = classify(page, "gender", "coffee.jpg", picture("coffee", max_side=400))
    assert result["label"] is None and result["faces"] == []
    expect(page.get_by_test_id("predicted-label")).to_have_text("No face found")
    expect(page.get_by_test_id("prob-list")).to_be_hidden()  # no probabilities as an answer
    expect(page.get_by_test_id("no-model")).to_be_hidden()
    expect(page.get_by_test_id("result")).not_to_contain_text("Confidence")
    save_screenshot(page, "faces-no-face")
    said = answer_with(page, "feedback-no-face")
    assert said["no_face"] is True and said["counts"] is False
    expect(page.get_by_test_id("feedback-thanks")).to_contain_text("no face")
    expect(page.get_by_test_id("feedback-no-face")).to_be_disabled()
    page.get_by_test_id("feedback-change").click()  # a changed mind: "there is a man"
    expect(page.get_by_test_id("feedback-label-male")).to_be_enabled()
    changed = answer_with(page, "feedback-label-male")
    assert changed["label"] == "male" and changed["no_face"] is False
    assert live_server.sql(
        "SELECT f.label, f.no_face FROM feedback f JOIN classifications c "
        "ON c.id = f.classification_id WHERE c.public_id = ?",
        result["id"],
    ) == [("male", 0)]


def no_spaced_brackets(text: str) -> None:
    assert not re.search(r"\b(0 17|18 29|30 44|45 59)\b", text), text


def test_age_brackets_keep_their_hyphen_on_every_page(page, live_server):
    result = classify(page, "age", "astronaut.jpg", picture("astronaut"))
    assert result["label"] in ("18-29", "30-44")
    expect(page.get_by_test_id("predicted-label")).to_have_text(result["label"])
    expect(page.get_by_test_id("feedback-wrong-0-17")).to_have_text("Wrong: it is 0-17")
    expect(page.get_by_test_id("prob-list")).to_contain_text("45-59")
    no_spaced_brackets(page.get_by_test_id("result").inner_text())
    no_spaced_brackets(page.get_by_test_id("task-hint").inner_text())
    answer_with(page, "feedback-wrong-45-59")

    login(page, live_server)
    page.goto("/admin")
    expect(page.get_by_test_id("dash-tasks")).to_contain_text("18-29")
    no_spaced_brackets(page.get_by_test_id("dashboard").inner_text())
    page.goto("/admin/review?task=age")
    expect(page.locator("[data-testid^=review-label-]").first).to_contain_text("45-59")
    expect(page.get_by_text("Verify as 18-29")).to_be_visible()
    no_spaced_brackets(page.locator("main").inner_text())
    page.goto("/admin/models/age?version=v1")
    expect(page.get_by_test_id("versions-table")).to_contain_text("v1")
    no_spaced_brackets(page.locator("main").inner_text())
    page.goto("/admin/tasks")
    expect(page.locator("main")).to_contain_text("30-44")
    no_spaced_brackets(page.locator("main").inner_text())


def evidence_ready(server, target: str) -> bool:
    [v1] = requests.get(server.url(f"/api/admin/models/{target}"), auth=server.admin_auth).json()
    return "files" in (v1["metrics"] or {})


def test_the_shipped_v1_model_pages_show_their_evidence(page, live_server):
    from tests.services import wait_for

    for target in ("gender", "age"):  # the train worker evaluates each v1 after it is registered
        wait_for(lambda t=target: evidence_ready(live_server, t), 240, interval=2, message=target)
    login(page, live_server)
    page.goto("/admin/models/gender?version=v1")
    expect(page.get_by_test_id("version-evaluation")).to_contain_text("LFW")
    expect(page.get_by_test_id("version-evaluation")).to_contain_text("Licence")
    expect(page.get_by_test_id("reliability-table")).to_be_visible()
    expect(page.get_by_test_id("version-live-agreement")).to_have_text(
        re.compile(r"\d+ % of \d+ user labels? agree|no labels from users yet")
    )
    for plot in ("plot-roc", "plot-confusion", "plot-evidence-holdout-reliability-png"):
        expect(page.get_by_test_id(plot)).to_be_visible()
    expect(page.get_by_test_id("plots-none")).to_be_hidden()
    save_screenshot(page, "faces-gender-v1-evidence")
    page.goto("/admin/models/age?version=v1")
    expect(page.get_by_test_id("age-table")).to_contain_text("45-59")
    save_screenshot(page, "faces-age-v1-evidence")
    expect(page.get_by_test_id("version-no-face")).to_contain_text("taken for a face")


def test_a_turned_face_is_boxed_and_shown_upright(page, live_server):
    upright = np.asarray(PILImage.open(io.BytesIO(picture("astronaut"))))
    turned = np.ascontiguousarray(np.rot90(upright, 1))
    out = io.BytesIO()
    PILImage.fromarray(turned).save(out, format="JPEG", quality=92)
    result = classify(page, "gender", "turned.jpg", out.getvalue())
    assert result["faces"][0]["rotation"] == 270 and result["label"] == "female"
    expect(page.get_by_test_id("face-box")).to_be_visible()
    expect(page.get_by_test_id("predicted-label")).to_have_text("Female")
    expect(page.get_by_test_id("faces-title")).to_contain_text("turned upright")
    save_screenshot(page, "faces-turned")
    # the chip beside the answer is the face upright: most like the upright face, not a turned one
    pixels = page.get_by_test_id("face-chip-0").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    chip = np.asarray(pixels, np.float64).reshape(96, 96, 4)[..., :3].mean(-1)
    x, y, w, h = upright_face_box(upright)
    g = 0.15  # the page's margin
    crop = upright[int(y - g * h) : int(y + h + g * h), int(x - g * w) : int(x + w + g * w)]
    ref = np.asarray(PILImage.fromarray(crop).convert("L").resize((96, 96)), np.float64)
    scores = [np.corrcoef(chip.ravel(), np.rot90(ref, k).ravel())[0, 1] for k in range(4)]
    assert int(np.argmax(scores)) == 0, scores


def upright_face_box(pixels: np.ndarray):
    from ml.faces import align

    box, rotation = align.detect_all(pixels)[0]  # the largest: her face
    assert rotation == 0
    return box
