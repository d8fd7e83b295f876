"""The whole loop over HTTP: a new task, user labels, retrain, promote, refuse or roll back."""

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from tests import http_helpers
from tests.ml.conftest import jitter, lfw_rgb_images
from tests.services import Worker

pytestmark = pytest.mark.slow


def jpeg(pixels) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=95)
    return out.getvalue()


def photos():
    """LFW faces and non-faces with a jittered copy each: (jpeg bytes, true label)."""
    images, labels = lfw_rgb_images(48)
    rng = np.random.default_rng(3)
    out = []
    for image, label in zip(images, labels):
        name = "face" if label else "other"
        out += [(jpeg(image), name), (jpeg(jitter(image, rng)), name)]
    order = np.random.default_rng(0).permutation(len(out))
    return [out[i] for i in order]


def label_photo(client, data, label, user):
    where = {
        "REMOTE_ADDR": ADDRESSES.setdefault(user, f"10.0.0.{len(ADDRESSES) + 1}")
    }  # a voter is an address, and the browser (uploader cookie) it labels from
    browsers = client.application.extensions.setdefault("test_browsers", {})
    client = browsers.setdefault(user, client.application.test_client())
    body = client.post(
        "/api/classify",
        data={"image": (io.BytesIO(data), "p.jpg"), "task": "faces"},
        content_type="multipart/form-data",
        environ_base=where,
    ).json
    response = client.post(
        f"/api/classify/{body['id']}/feedback", json={"label": label}, environ_base=where
    )
    assert response.status_code == 201
    return body


ADDRESSES: dict[str, str] = {}


def retrain(client, admin, may_fail=False):
    job = http_helpers.retrain(client, admin, 240, task="faces")
    if may_fail and job["status"] == "failed":
        return job
    assert job["status"] == "done", job
    return job["result"]


def deployed(client):
    return {t["name"]: t for t in client.get("/api/tasks").json}["faces"]["model_version"]


def test_feedback_loop_over_http(app, client, admin, env, tmp_path):
    response = client.post(
        "/api/admin/tasks", json={"name": "faces", "labels": ["face", "other"]}, headers=admin
    )
    assert response.status_code == 201
    data = photos()
    for i, (jpg, label) in enumerate(data[:260]):
        label_photo(client, jpg, label, f"user-{i % 3}")

    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        first = retrain(client, admin)
        assert first["promoted"] is True, first
        assert first["compared_with"]["metrics"]["accuracy"] < first["metrics"]["accuracy"]
        assert "baseline" in first["reason"]
        assert deployed(client) == "v1"
        answer = label_photo(client, data[300][0], data[300][1], "user-0")
        assert answer["model_version"] == "v1" and answer["label"] in ("face", "other")

        for i, (jpg, label) in enumerate(data[260:320]):
            label_photo(client, jpg, label, f"user-{i % 3}")
        second = retrain(client, admin)
        assert second["model_version"] == "v2"
        if second["promoted"]:
            assert deployed(client) == "v2"
            rolled = client.post("/api/admin/models/faces/rollback", headers=admin)
            assert rolled.status_code == 200 and rolled.json["deployed"] == "v1"
            assert deployed(client) == "v1"
        else:
            assert "worse" in second["reason"] and deployed(client) == "v1"
        before = deployed(client)

        # One client relabels everything it can see with the wrong answer.
        for jpg, label in data[:320]:
            label_photo(client, jpg, "other" if label == "face" else "face", "mallory")
        third = retrain(client, admin, may_fail=True)
    finally:
        worker.stop()
    now = deployed(client)
    if (
        "error" in third and third.get("status") == "failed"
    ):  # every photo is now one vote against one
        assert "votes disagree" in third["error"] and now == before
    else:
        gate = third["gate"]  # a paired test on the same holdout decides, not a raw comparison
        assert (
            gate["n"] == third["holdout_size"] == third["metrics"]["n"]
            and gate["alternative"] == "candidate worse"
        )
        if third["promoted"]:
            assert gate["p_value"] >= 0.05 and "not significantly worse" in third["reason"]
        else:
            assert now == before and gate["p_value"] < 0.05
    versions = {m["version"]: m for m in client.get("/api/admin/models/faces", headers=admin).json}
    assert versions[now]["metrics"]["gate"]["test"].startswith(
        "exact McNemar"
    )  # the models list shows the test
    audit = client.get("/api/admin/deployments?target=faces", headers=admin).json
    assert audit[-1]["version"] == "v1" and audit[-1]["action"] == "auto"
