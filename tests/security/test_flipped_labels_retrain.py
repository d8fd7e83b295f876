"""Through the real retrain job: on a task without trusted labels, voters who flip every
label cannot get the reversed model promoted; it waits for an admin with the likely cause named."""

import io

import numpy as np
import pytest

from tests import http_helpers
from tests.classification.test_label_retrain_rollback import jpeg
from tests.ml.conftest import lfw_rgb_images
from tests.services import Worker

pytestmark = pytest.mark.slow
HONEST, SLEEPERS, PER_HONEST = 4, 39, 15


def retrain(client, admin) -> dict:
    job = http_helpers.retrain(client, admin, 300, task="faces")
    assert job["status"] == "done", job
    return job["result"]


def label(browser, data: bytes, value: str, address: str) -> str:
    where = {"REMOTE_ADDR": address}
    cid = browser.post(
        "/api/classify",
        data={"image": (io.BytesIO(data), "p.jpg"), "task": "faces"},
        content_type="multipart/form-data",
        environ_base=where,
    ).json["id"]
    response = browser.post(
        f"/api/classify/{cid}/feedback", json={"label": value}, environ_base=where
    )
    assert response.status_code == 201, response.json
    return cid


def deployed(client) -> str | None:
    return {t["name"]: t for t in client.get("/api/tasks").json}["faces"]["model_version"]


def test_a_candidate_that_reverses_the_deployed_model_waits_for_an_admin(
    app, client, admin, env, tmp_path
):
    assert (
        client.post(
            "/api/admin/tasks", json={"name": "faces", "labels": ["face", "other"]}, headers=admin
        ).status_code
        == 201
    )
    images, faces = lfw_rgb_images(64)
    order = np.random.default_rng(5).permutation(len(images))
    photos = [
        (jpeg(images[i]), "face" if faces[i] else "other")
        for i in order[: HONEST * PER_HONEST + SLEEPERS]
    ]
    attacked, own = photos[: HONEST * PER_HONEST], photos[HONEST * PER_HONEST :]
    for n, (data, truth) in enumerate(attacked):  # 4 honest addresses, no trusted label anywhere
        label(app.test_client(), data, truth, f"10.0.1.{n % HONEST + 1}")
    sleepers = [app.test_client() for _ in range(SLEEPERS)]  # 39 addresses, each labels one photo
    sleeper_ids = [
        label(browser, data, truth, f"10.88.0.{k + 1}")
        for k, (browser, (data, truth)) in enumerate(zip(sleepers, own))
    ]

    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        first = retrain(client, admin)
        assert first["promoted"] is True and deployed(client) == "v1", first
        # then every label flipped: each sleeper its own photo, and three of them on each honest one
        flipped = {"face": "other", "other": "face"}
        for k, (browser, cid) in enumerate(zip(sleepers, sleeper_ids)):
            response = browser.post(
                f"/api/classify/{cid}/feedback",
                json={"label": flipped[own[k][1]]},
                environ_base={"REMOTE_ADDR": f"10.88.0.{k + 1}"},
            )
            assert response.status_code == 201
        for n in range(3 * len(attacked)):
            data, truth = attacked[n % len(attacked)]
            k = (n + n // len(attacked)) % SLEEPERS
            label(sleepers[k], data, flipped[truth], f"10.88.0.{k + 1}")
        second = retrain(client, admin)
    finally:
        worker.stop()
    assert second["holdout"]["trusted"] is False
    assert second["promoted"] is False and second["held_for_admin"] is True, second
    assert deployed(client) == "v1"
    assert second["gate"]["agreement_with_deployed"] < 0.5
    (warning,) = [w for w in second["warnings"] if w.startswith("held for an admin")]
    assert "reverses the deployed model's answers" in warning and "flipped" in warning
    assert "10.88" not in warning and "voter" in warning
    assert "not promoted automatically" in second["reason"]
    # the admin decides: the candidate is registered and can be inspected or promoted by hand
    versions = {m["version"]: m for m in client.get("/api/admin/models/faces", headers=admin).json}
    assert second["model_version"] in versions and not versions[second["model_version"]]["deployed"]
