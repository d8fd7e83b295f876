"""A style method is an entry in ml.style.methods: registering one serves it end to end."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from ml.style import methods as ml_methods
from ml.style.methods import StyleMethod, StyleResult
from webapp.extensions import db
from webapp.jobs.runner import execute_job
from webapp.tables import Stylization


def _grey(call, model):
    """A new method in a dozen lines: the photo in grey, mixed with itself by strength."""
    from ml.common.images import resize_long_side, to_uint8
    from ml.style.strength import with_photo

    photo = resize_long_side(call.content, call.size)
    grey = np.repeat(photo.mean(axis=-1, keepdims=True), 3, axis=-1)
    return StyleResult(to_uint8(with_photo(grey, photo, call.strength)))


GRAYSCALE = StyleMethod("grayscale", "The photo in grey, no style picture.", _grey, strength=0.75)


@pytest.fixture
def grayscale():
    undo = ml_methods.register(GRAYSCALE)
    yield GRAYSCALE
    undo()
    assert "grayscale" not in ml_methods.METHODS


def _png(side: int = 80) -> bytes:
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    PILImage.fromarray(rng.integers(0, 255, (side, side, 3), np.uint8)).save(out, format="PNG")
    return out.getvalue()


def test_a_new_style_method_is_listed_and_stylizes_through_the_api(app, client, grayscale):
    listed = {m["method"]: m for m in client.get("/api/styles").json}
    assert listed["grayscale"]["needs_style_image"] is False
    assert listed["grayscale"]["default_strength"] == 0.75  # the entry's own
    form = {"content": (io.BytesIO(_png()), "me.png"), "method": "grayscale", "size": "64"}
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    sid = response.json["id"]
    with app.app_context():
        row = db.session.scalar(db.select(Stylization).where(Stylization.public_id == sid))
        assert row.params["strength"] == 0.75 and row.job.params == {}  # stored once: the row's
        execute_job(row.job_id)
    status = client.get(f"/api/stylize/{sid}").json
    assert status["status"] == "done" and status["method"] == "grayscale", status
    picture = np.asarray(PILImage.open(io.BytesIO(client.get(status["result_url"]).data)))
    assert picture.shape[:2] == (64, 64) and picture.std(axis=-1).mean() < picture.std()


def test_a_method_that_optimises_runs_in_the_slow_lane_with_its_limit(app, grayscale):
    """The lane follows the entry: a new method that optimises (not one pass) does not hold up
    the fast pictures, and gets the slow lane's time limit; a one-pass one stays in the main lane."""
    from dataclasses import replace

    from webapp.jobs.job_types import lane_for, time_limit_key

    assert lane_for("stylize", "grayscale") == "style"
    assert time_limit_key("stylize", "grayscale") == "STYLE_JOB_SECONDS"
    assert lane_for("stylize", "nst") == "style-slow"
    undo = ml_methods.register(replace(GRAYSCALE, name="slow-grey", one_pass=False))
    try:
        assert lane_for("stylize", "slow-grey") == "style-slow"
        assert time_limit_key("stylize", "slow-grey") == "NST_JOB_SECONDS"
    finally:
        undo()
    assert lane_for("stylize", "slow-grey") == "style"  # unknown: a fixed style's own name
    assert lane_for("retrain", "gender") == "train"


def test_strength_is_checked_once_with_the_apis_messages(client):
    form = {"content": (io.BytesIO(_png()), "me.png"), "method": "preset", "preset": "1"}
    for value, says in (("1.5", "must be from 0.0 to 1.0"), ("x", "must be a number")):
        sent = {**form, "content": (io.BytesIO(_png()), "me.png"), "strength": value}
        response = client.post("/api/stylize", data=sent, content_type="multipart/form-data")
        assert response.status_code == 400 and says in response.json["error"], response.json
