"""The admin console in a real browser: the whole feedback loop as an admin drives it.

Log in, create a task, import a small face / not-face data set, retrain from the Models page and
watch the job to the end, collect user feedback, see it on the dashboard and review it, retrain
again, promote a version by hand, roll back, and read the deploy audit log.
"""

from __future__ import annotations

import io
import re
import uuid

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.conftest import file_payload, save_screenshot

# The live server, a first retrain or conversion, then the flow's own waits: past the default limit.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1800)]

LABELS = ["face", "not_face"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
RETRAIN_TIMEOUT = 240_000  # ms; a retrain of 200 tiny images takes 15-60 s on 2 CPU cores
DEPLOY_TIMEOUT = 45_000  # ms; promote and rollback load the model in the web worker first


def face_images() -> dict[str, list[bytes]]:
    """skimage's LFW subset: the first 100 are faces, the last 100 are not; 64x64 RGB JPEGs."""
    import numpy as np
    from PIL import Image
    from skimage import data

    out: dict[str, list[bytes]] = {label: [] for label in LABELS}
    for i, grey in enumerate(data.lfw_subset()):
        image = (
            Image.fromarray((grey * 255).astype(np.uint8))
            .convert("RGB")
            .resize((64, 64), Image.BILINEAR)
        )
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=92)
        out[LABELS[0] if i < 100 else LABELS[1]].append(buffer.getvalue())
    return out


def mirrored(blob: bytes) -> bytes:
    """The picture flipped left to right: a new upload, not a copy of an imported image."""
    from PIL import Image, ImageOps

    out = io.BytesIO()
    ImageOps.mirror(Image.open(io.BytesIO(blob))).save(out, format="JPEG", quality=92)
    return out.getvalue()


def user_feedback(server, task: str, images: dict[str, list[bytes]]) -> None:
    """Six users' photos classified by the deployed model and labelled by them (one label is wrong)."""
    cases = [
        (images["face"][5], "face"),
        (images["face"][40], "face"),
        (images["face"][70], "not_face"),
        (images["not_face"][3], "not_face"),
        (images["not_face"][50], "not_face"),
        (images["not_face"][90], "not_face"),
    ]
    for n, (blob, label) in enumerate((mirrored(b), label) for b, label in cases):
        user = requests.Session()  # keeps the uploader cookie: only the uploader may label a photo
        answer = user.post(
            server.url("/api/classify"),
            data={"task": task},
            timeout=30,
            files={"image": (f"user{n}.jpg", blob, "image/jpeg")},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["model_version"], "the deployed model must answer"
        fb = user.post(
            server.url(f"/api/classify/{answer.json()['id']}/feedback"),
            json={"label": label},
            timeout=10,
        )
        assert fb.status_code == 201, fb.text


def zipped(entries: dict[str, bytes]) -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, blob in entries.items():
            archive.writestr(name, blob)
    return out.getvalue()


def import_from_console(page, task: str, images: dict[str, list[bytes]]) -> None:
    """The Import page: a bad zip is refused with its reason; a zip of the label folders (with
    two bad files) is imported with one line per file; two more photos are dropped per label."""
    expect(page).to_have_url(re.compile(f"/admin/import\\?task={task}$"))
    expect(page.get_by_test_id("import-task")).to_have_value(task)
    page.watch.allow(r"status of 400")
    bad = zipped({"../face/evil.jpg": images["face"][0]})
    page.get_by_test_id("zip-input").set_input_files(
        file_payload("bad.zip", bad, "application/zip")
    )
    page.get_by_test_id("zip-submit").click()
    expect(page.get_by_test_id("alert")).to_contain_text("unsafe path")
    expect(page.get_by_test_id("import-state")).to_have_text("stopped")

    entries = {
        f"faces/{label}/{n:03d}.jpg": b for label in LABELS for n, b in enumerate(images[label])
    }
    entries["faces/face/broken.jpg"] = images["face"][0][:200]
    entries["faces/not_face/notes.txt"] = b"not a picture"
    page.get_by_test_id("zip-input").set_input_files(
        file_payload("faces.zip", zipped(entries), "application/zip")
    )
    page.get_by_test_id("zip-submit").click()
    expect(page.get_by_test_id("import-state")).to_have_text("done", timeout=60_000)
    expect(page.get_by_test_id("import-added")).to_have_text("200")
    expect(page.get_by_test_id("import-skipped")).to_have_text("2")
    problems = page.get_by_test_id("import-file")  # the files that need a look, not all 202
    expect(problems).to_have_count(2)
    expect(problems.first).to_contain_text("damaged")
    expect(page.get_by_test_id("import-files")).to_contain_text("not a .jpg")
    page.get_by_test_id("import-show-all").check()
    expect(problems).to_have_count(202)
    save_screenshot(page, "admin-import", full_page=True)

    for label in LABELS:  # a few more, dropped per label
        page.get_by_test_id(f"drop-input-{label}").set_input_files(
            [file_payload(f"more-{label}-{n}.jpg", mirrored(images[label][n])) for n in (1, 2)]
        )
        expect(page.get_by_test_id(f"drop-count-{label}")).to_contain_text("2 pictures")
    page.get_by_test_id("drop-submit").click()
    expect(page.get_by_test_id("import-state")).to_have_text("done", timeout=60_000)
    expect(page.get_by_test_id("import-added")).to_have_text("4")
    expect(page.get_by_test_id("import-retrain-link")).to_be_visible()


def deployed_version(page) -> str:
    """The version the Models page says is serving."""
    badge = page.get_by_test_id("deployed-badge")
    expect(badge).to_contain_text("serving")
    return badge.inner_text().split()[-1]


def retrain_from_models_page(page, server, task: str) -> dict:
    """Press Retrain, follow the live progress to the job page, wait for the outcome; returns the job."""
    page.goto(f"/admin/models/{task}")
    with page.expect_response(lambda r: r.url.endswith("/api/admin/retrain")) as queued:
        page.get_by_test_id("retrain-button").click()
    assert queued.value.status == 202, queued.value.text()
    job_id = queued.value.json()["job_id"]
    expect(page.get_by_test_id("retrain-live")).to_be_visible()
    expect(page.get_by_test_id("retrain-live-status")).to_have_text(
        re.compile("queued|running|done")
    )
    page.get_by_test_id("retrain-live-link").click()
    expect(page).to_have_url(re.compile(f"/admin/jobs/{job_id}$"))
    expect(page.get_by_test_id("job-title")).to_contain_text(f"Retrain · {task}")
    expect(page.get_by_test_id("job-progress")).to_be_visible()
    expect(page.get_by_test_id("job-log")).not_to_have_text("(no log yet)", timeout=60_000)
    expect(page.get_by_test_id("job-outcome")).to_be_visible(timeout=RETRAIN_TIMEOUT)
    expect(page.get_by_test_id("job-status")).to_have_text("done")
    expect(page.get_by_test_id("job-pct")).to_have_text("100%")
    expect(page.get_by_test_id("job-cancel")).to_be_hidden()
    expect(page.get_by_test_id("job-result")).to_contain_text('"model_version"')
    return requests.get(
        server.url(f"/api/admin/jobs/{job_id}"), auth=server.admin_auth, timeout=10
    ).json()


def test_admin_console_runs_the_feedback_loop(admin_page, live_server):
    page = admin_page
    task = f"faces_{uuid.uuid4().hex[:6]}"

    # The dashboard greets the admin after login, with the admin sub-nav.
    expect(page).to_have_url(re.compile(r"/admin$"))
    expect(page.get_by_test_id("admin-subnav")).to_be_visible()
    expect(page.get_by_test_id("stat-tasks")).to_have_text(re.compile(r"\d+"))

    # Create a task through the form; a bad name and a duplicate show the API's reasons.
    page.get_by_test_id("subnav-tasks").click()
    page.watch.allow(r"status of 40[09]")
    page.get_by_test_id("task-name").fill("Bad Name")
    page.get_by_test_id("task-labels").fill("face, not_face")
    page.get_by_test_id("task-create").click()
    expect(page.get_by_test_id("alert")).to_contain_text("'name' must be lowercase")
    page.get_by_test_id("task-name").fill(task)
    page.get_by_test_id("task-labels").fill(", ".join(LABELS))
    page.get_by_test_id("task-description").fill("Is there a face in the photo?")
    page.get_by_test_id("task-create").click()
    expect(page.get_by_test_id("alert")).to_contain_text(f"Task “{task}” created")
    expect(page.get_by_test_id(f"task-row-{task}")).to_contain_text("Not face")
    page.get_by_test_id("task-name").fill(task)
    page.get_by_test_id("task-labels").fill(", ".join(LABELS))
    page.get_by_test_id("task-create").click()
    expect(page.get_by_test_id("alert")).to_contain_text("already exists")

    # Import training data from the console, then retrain from the Models page.
    images = face_images()
    page.get_by_test_id(f"task-import-{task}").click()
    import_from_console(page, task, images)
    page.goto("/admin/models")
    page.get_by_test_id(f"target-link-{task}").click()
    expect(page.get_by_test_id("versions-empty")).to_be_visible()
    first = retrain_from_models_page(page, live_server, task)
    v1, auto1 = first["result"]["model_version"], first["result"]["promoted"]
    expect(page.get_by_test_id("job-outcome-title")).to_have_text(
        f"{v1} {'promoted' if auto1 else 'not promoted'}"
    )
    expect(page.get_by_test_id("job-outcome-reason")).to_contain_text(
        "first model"
    )  # vs the majority baseline
    expect(
        page.get_by_test_id("job-outcome-plain")
    ).to_be_visible()  # words first, numbers a click away
    expect(page.get_by_test_id("job-outcome-next")).to_contain_text("Next:")
    save_screenshot(page, "admin-job", full_page=True)
    page.get_by_test_id("job-open-model").click()
    if not auto1:  # the gate refused it (training on 200 tiny images is noisy): deploy it by hand
        page.get_by_test_id(f"promote-{v1}").click()
        expect(page.get_by_test_id("promote-confirm-text")).to_contain_text(f"Promote {v1}")
        page.get_by_test_id("promote-confirm-yes").click()
        expect(page.get_by_test_id("alert")).to_contain_text(
            f"now serves {v1}", timeout=DEPLOY_TIMEOUT
        )

    # Users classify with it and say what is right; the dashboard shows it.
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {v1}")
    expect(page.get_by_test_id(f"deployed-{v1}")).to_be_visible()
    for plot in ("plot-training-curve", "plot-roc", "plot-confusion"):
        expect(page.get_by_test_id(plot)).to_be_visible()
        assert page.get_by_test_id(plot).evaluate("img => img.naturalWidth") > 0
    user_feedback(live_server, task, images)
    page.get_by_test_id("subnav-dashboard").click()
    card = page.get_by_test_id(f"task-card-{task}")
    expect(card.get_by_test_id(f"task-deployed-{task}")).to_have_text(v1)
    expect(card.get_by_test_id(f"task-pending-{task}")).to_contain_text("6 labels to review")
    assert card.get_by_test_id(f"chart-feedback-{task}").locator("rect.bar").count() == 30
    expect(card.get_by_test_id(f"chart-agreement-{task}").locator("circle.dot")).to_have_count(1)
    expect(card.get_by_test_id(f"task-labels-needed-{task}")).to_contain_text(
        re.compile("likely promoted|may not beat")
    )
    save_screenshot(page, "admin-dashboard", full_page=True)
    page.set_viewport_size(PHONE)
    save_screenshot(page, "admin-dashboard-phone", full_page=True)
    page.set_viewport_size(DESKTOP)

    # Review: verify one, correct one, reject one; they move to the history tabs.
    card.get_by_test_id(f"task-pending-{task}").click()
    expect(page.get_by_test_id("review-task")).to_have_value(task)
    expect(page.get_by_test_id("review-explainer")).to_contain_text("clean holdout")
    items = page.locator("[data-testid^=review-item-]")
    expect(items).to_have_count(6)
    ids = [i.get_attribute("data-testid").rsplit("-", 1)[1] for i in items.all()]
    expect(page.get_by_test_id(f"review-label-{ids[0]}")).to_have_text("Face")
    expect(page.get_by_test_id(f"review-predicted-{ids[0]}")).not_to_be_empty()
    assert (
        page.get_by_test_id(f"review-item-{ids[0]}")
        .locator("img")
        .evaluate("img => img.complete && img.naturalWidth")
        > 0
    )
    page.get_by_test_id(f"review-verify-{ids[0]}").click()
    expect(page.get_by_test_id(f"review-item-{ids[0]}")).to_have_count(0)
    page.get_by_test_id(
        f"review-verify-as-{ids[2]}-face"
    ).click()  # the user said not_face to a face
    expect(page.get_by_test_id(f"review-item-{ids[2]}")).to_have_count(0)
    page.get_by_test_id(f"review-reject-{ids[3]}").click()
    expect(page.get_by_test_id(f"review-item-{ids[3]}")).to_have_count(0)
    expect(page.get_by_test_id("review-count")).to_contain_text("3 labels waiting for review")
    page.get_by_test_id("review-order").select_option(
        "informative"
    )  # the labels the model doubts most first
    expect(page).to_have_url(re.compile("order=informative"))
    expect(page.get_by_test_id("review-list")).to_have_attribute("data-order", "informative")
    expect(items).to_have_count(3)
    shown = [i.get_attribute("data-testid").rsplit("-", 1)[1] for i in items.all()]
    scores = [float(page.get_by_test_id(f"review-score-{i}").inner_text()) for i in shown]
    assert scores == sorted(scores, reverse=True) and set(shown) == {ids[1], ids[4], ids[5]}
    save_screenshot(page, "admin-review", full_page=True)
    page.get_by_test_id("review-tab-verified").click()
    expect(items).to_have_count(2)
    expect(page.get_by_test_id(f"review-label-{ids[2]}")).to_have_text("Face")
    page.get_by_test_id("review-tab-rejected").click()
    expect(items).to_have_count(1)

    # A second retrain: promoted or refused by the gate, with the reason shown either way.
    second = retrain_from_models_page(page, live_server, task)
    v2, promoted = second["result"]["model_version"], second["result"]["promoted"]
    expect(page.get_by_test_id("job-outcome-title")).to_have_text(
        f"{v2} {'promoted' if promoted else 'not promoted'}"
    )
    expect(page.get_by_test_id("job-outcome-reason")).to_have_text(second["result"]["reason"])
    expect(page.get_by_test_id("job-compare-table")).to_contain_text("accuracy")

    # The Jobs list shows both retrains finished.
    page.get_by_test_id("subnav-jobs").click()
    for job in (first, second):
        expect(page.get_by_test_id(f"job-status-{job['id']}")).to_have_text("done")

    # Promote the version that is not serving, then roll back to the one that was.
    page.goto(f"/admin/models/{task}")
    serving = deployed_version(page)
    other = v1 if serving == v2 else v2
    page.get_by_test_id(f"promote-{other}").click()
    expect(page.get_by_test_id("promote-confirm-text")).to_contain_text(f"Promote {other}")
    page.get_by_test_id("promote-confirm-yes").click()
    expect(page.get_by_test_id("alert")).to_contain_text(
        f"now serves {other}", timeout=DEPLOY_TIMEOUT
    )
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {other}")
    page.get_by_test_id(f"select-{other}").click()
    expect(page.get_by_test_id("version-detail")).to_contain_text(f"Version {other}")
    save_screenshot(page, "admin-models", full_page=True)
    page.get_by_test_id("rollback-button").click()  # asks first, naming both versions
    expect(page.get_by_test_id("rollback-confirm-text")).to_contain_text(
        f"from {other} to {serving}"
    )
    save_screenshot(page, "admin-rollback-confirm", full_page=False)
    page.get_by_test_id("rollback-confirm-no").click()
    expect(page.get_by_test_id("rollback-confirm")).to_be_hidden()
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {other}")
    page.get_by_test_id("rollback-button").click()
    page.get_by_test_id("rollback-confirm-yes").click()
    expect(page.get_by_test_id("alert")).to_contain_text(
        f"Rolled back: {task} now serves {serving}", timeout=DEPLOY_TIMEOUT
    )
    expect(page.get_by_test_id("deployed-badge")).to_have_text(f"serving {serving}")
    page.set_viewport_size(PHONE)
    save_screenshot(page, "admin-models-phone", full_page=True)
    page.set_viewport_size(DESKTOP)

    # The schedule of this target can be set and removed; "not scheduled" offers no "Enabled".
    expect(page.get_by_test_id("schedule-state")).to_have_text("not scheduled")
    expect(page.get_by_test_id("schedule-enabled")).to_be_hidden()
    expect(page.get_by_test_id("schedule-save")).to_have_text("Add schedule")
    page.get_by_test_id("schedule-hours").fill("12")
    page.get_by_test_id("schedule-save").click()
    expect(page.get_by_test_id("schedule-state")).to_have_text("every 12 h")
    expect(page.get_by_test_id("schedule-enabled")).to_be_checked()
    expect(page.get_by_test_id("schedule-save")).to_have_text("Save schedule")
    page.get_by_test_id("schedule-delete").click()
    expect(page.get_by_test_id("schedule-state")).to_have_text("not scheduled")
    expect(page.get_by_test_id("schedule-enabled")).to_be_hidden()

    # The audit log has every move of the pointer, newest first.
    page.get_by_test_id("target-audit-link").click()
    expect(page.get_by_test_id("audit-target")).to_have_value(task)
    rows = page.locator("[data-testid^=audit-row-]")
    actions = (
        ["rollback", "promote"] + (["auto"] if promoted else []) + ["auto" if auto1 else "promote"]
    )
    expect(rows).to_have_count(len(actions))
    assert [r.get_attribute("data-action") for r in rows.all()] == actions
    expect(rows.first).to_contain_text(serving)
    expect(rows.first).to_contain_text(f"rolled back from {other}")
    expect(page.get_by_test_id("audit-previous-0")).to_have_text(other)  # was "—"
    save_screenshot(page, "admin-audit", full_page=True)
