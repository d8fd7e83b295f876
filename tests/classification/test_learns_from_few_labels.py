"""The default retrain config learns a new task from few user labels, through the real retrain job."""

import time

import numpy as np
import pytest

from tests.classification.test_label_retrain_rollback import jpeg, label_photo, retrain
from tests.ml.conftest import lfw_rgb_images
from tests.services import Worker

pytestmark = pytest.mark.slow
LABELS = 80
UNSEEN = 40


def test_default_config_learns_face_other_from_80_labels(app, client, admin, env, tmp_path):
    response = client.post(
        "/api/admin/tasks", json={"name": "faces", "labels": ["face", "other"]}, headers=admin
    )
    assert response.status_code == 201
    images, labels = lfw_rgb_images(64)
    order = np.random.default_rng(12).permutation(len(images))
    names = ["face" if label else "other" for label in labels]
    for n, i in enumerate(order[:LABELS]):
        label_photo(client, jpeg(images[i]), names[i], f"user-{n % 3}")

    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        started = time.monotonic()
        result = retrain(client, admin)
        seconds = time.monotonic() - started
    finally:
        worker.stop()
    assert result["promoted"] is True, result
    assert seconds < 180, f"retrain took {seconds:.0f} s"
    unseen = order[-UNSEEN:]
    answers = [label_photo(client, jpeg(images[i]), names[i], "tester") for i in unseen]
    assert all(a["model_version"] == result["model_version"] for a in answers)
    right = np.mean([a["label"] == names[i] for a, i in zip(answers, unseen)])
    assert right >= 0.85, f"right on {right:.3f} of {UNSEEN} unseen photos after {LABELS} labels"
