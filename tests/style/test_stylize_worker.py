"""Stylization as a job: queued by the API, run by a real worker, watched, rated, downloaded."""

import io
import time

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.services import Worker, wait_for

pytestmark = pytest.mark.slow


def photo(name: str) -> bytes:
    from skimage import data

    out = io.BytesIO()
    PILImage.fromarray(getattr(data, name)()).convert("RGB").resize((96, 96)).save(
        out, format="PNG"
    )
    return out.getvalue()


def submit(client, **fields):
    form = {
        "content": (io.BytesIO(photo("astronaut")), "me.png"),
        "style": (io.BytesIO(photo("coffee")), "art.png"),
        "size": "64",
        "method": "nst",
        **fields,
    }  # the optimising method: progress a person can watch
    response = client.post("/api/stylize", data=form, content_type="multipart/form-data")
    assert response.status_code == 202, response.json
    return response.json["id"]


def test_stylize_runs_in_worker_with_progress_and_rating(app, client, env, tmp_path):
    sid = submit(client, strength="0.8")
    long_one = submit(client, size="1024")  # an evaluation here is 5-15 s on a busy CPU
    # the job's machinery is under test, not the painting: a few evaluations (NST_MAX_EVALS)
    worker = Worker({**env, "NST_MAX_EVALS": "20"}, "style", tmp_path / "style.log").start()
    seen = []
    try:

        def finished():
            status = client.get(f"/api/stylize/{sid}").json
            seen.append((status["status"], status["progress"]))
            return status if status["status"] in ("done", "failed") else None

        status = wait_for(finished, 180, interval=0.3, message="the stylization")
        wait_for(
            lambda: client.get(f"/api/stylize/{long_one}").json["progress"] > 0,
            120,
            message="the second stylization to start",
        )
        # cancel while it runs, in the middle of an evaluation (39 s at 1024 px)
        asked = time.monotonic()
        assert client.post(f"/api/stylize/{long_one}/cancel").status_code == 202
        cancelled = wait_for(
            lambda: (s := client.get(f"/api/stylize/{long_one}").json)["status"] == "failed" and s,
            60,
            interval=0.1,
            message="the running stylization to stop",
        )
        took = time.monotonic() - asked
        assert cancelled["error"] == "Cancelled." and cancelled["result_url"] is None
        print(f"cancel of a running 1024 px nst took {took:.2f} s")
        assert took < 5.0, f"cancel took {took:.1f} s"
    finally:
        worker.stop()
    assert status["status"] == "done", (status, worker.output()[-2000:])
    assert status["seconds"] > 0 and status["error"] is None
    # the worker's NST_MAX_EVALS capped what the picture spent (L-BFGS may finish a line search)
    assert 0 < status["stats"]["steps"] <= 20 + 6, status["stats"]
    assert any(s == "running" and 0 < p < 1 for s, p in seen), seen  # progress a person can watch
    result = client.get(status["result_url"])
    assert result.status_code == 200 and result.mimetype == "image/png"
    picture = PILImage.open(io.BytesIO(result.data))
    assert max(picture.size) == 64
    content = np.asarray(
        PILImage.open(io.BytesIO(photo("astronaut"))).resize(picture.size), dtype=float
    )
    assert (
        np.abs(np.asarray(picture.convert("RGB"), dtype=float) - content).mean() > 5
    )  # it changed
    rated = client.post(f"/api/stylize/{sid}/rating", json={"stars": 5, "comment": "lovely"})
    assert rated.status_code == 201
    for bad in ({"stars": 0}, {"stars": 6}, {"stars": "5"}, {"stars": True}, {}):
        assert client.post(f"/api/stylize/{sid}/rating", json=bad).status_code == 400


def test_cancel_queued_stylization(client):
    sid = submit(client)
    response = client.post(f"/api/stylize/{sid}/cancel")
    assert response.status_code == 202
    status = client.get(f"/api/stylize/{sid}").json
    assert status["status"] == "failed" and status["error"] == "Cancelled."
    assert client.post(f"/api/stylize/{sid}/cancel").status_code == 409


def test_job_log_keeps_summaries_and_skips_repeated_batch_lines(app):
    from webapp.extensions import db
    from webapp.jobs.runner import JobContext, create_job

    with app.app_context():
        job = create_job("retrain", target="gender")
        db.session.commit()
        ctx = JobContext(job.id)
        for epoch in (1, 2):
            for batch in range(1, 51):
                ctx.progress(0.01 * batch, f"epoch {epoch}/2 batch {batch}/50")
            ctx.progress(0.5 * epoch, f"epoch {epoch}/2: loss=0.{epoch}")
        lines = db.session.get(type(job), job.id).log.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "epoch 1/2 batch 1/50",
        "epoch 1/2: loss=0.1",
        "epoch 2/2 batch 1/50",
        "epoch 2/2: loss=0.2",
    ]
