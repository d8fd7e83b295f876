"""Import CelebA-layout data, retrain with a real worker, and classify held-out photos over the API."""

import io
import re

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.ml.conftest import _write_csv, jitter, lfw_rgb_images
from tests.services import Worker

pytestmark = pytest.mark.slow


def write_split_celeba(root):
    """CelebA layout from 4 of every 5 LFW images (+ jittered copies); returns the 5th ones, held out."""
    images, labels = lfw_rgb_images()
    rng = np.random.default_rng(1)
    folder = root / "img_align_celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    rows, parts, held_out = [], [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        if i % 5 == 0:
            held_out.append((image, "male" if label else "female"))
            continue
        for c in range(2):
            name = f"{i:03d}{c}.jpg"
            PILImage.fromarray(image if c == 0 else jitter(image, rng)).save(
                folder / name, quality=95
            )
            rows.append([name, 1 if label else -1, -1])
            parts.append([name, 0])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff broken")
    rows.append(["broken.jpg", 1, -1])
    _write_csv(root / "list_attr_celeba.csv", ["image_id", "Male", "Smiling"], rows)
    _write_csv(root / "list_eval_partition.csv", ["image_id", "partition"], parts)
    return held_out


def jpeg(pixels) -> bytes:
    out = io.BytesIO()
    PILImage.fromarray(pixels).save(out, format="JPEG", quality=95)
    return out.getvalue()


def as_photo_task(app, name: str) -> None:
    """Make `name` read whole photos: this data is faces against non-faces, and a face task answers
    a picture without a face with no label (CONTRACT)."""
    from webapp.extensions import db
    from webapp.tables import Task

    with app.app_context():
        db.session.scalar(db.select(Task).where(Task.name == name)).config = None
        db.session.commit()


def test_import_retrain_and_classify(app, client, runner, env, tmp_path):
    as_photo_task(app, "gender")
    held_out = write_split_celeba(tmp_path / "celeba")
    result = runner.invoke(
        args=["data", "import-celeba", str(tmp_path / "celeba"), "--task", "gender"]
    )
    assert result.exit_code == 0, result.output
    counts = re.search(
        r"imported (\d+) images, (\d+) already present, (\d+) unreadable", result.output
    )
    assert counts, result.output
    imported, duplicates, unreadable = map(int, counts.groups())
    assert (
        imported + duplicates == 320 and imported > 300 and unreadable == 1
    )  # same pixels stored once

    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        result = runner.invoke(args=["retrain", "gender", "--wait"])
        assert result.exit_code == 0, result.output + worker.output()
    finally:
        worker.stop()
    assert "'promoted': True" in result.output

    tasks = {t["name"]: t for t in client.get("/api/tasks").json}
    assert tasks["gender"]["model_version"] == "v1"
    assert tasks["gender"]["metrics"]["accuracy"] > 0.7

    correct = 0
    for pixels, truth in held_out:
        body = client.post(
            "/api/classify",
            data={"image": (io.BytesIO(jpeg(pixels)), "x.jpg"), "task": "gender"},
            content_type="multipart/form-data",
        ).json
        assert body["model_version"] == "v1"
        assert set(body["probabilities"]) == {"female", "male"}
        assert abs(sum(body["probabilities"].values()) - 1) < 1e-4
        assert body["probability"] == body["probabilities"][body["label"]]
        correct += body["label"] == truth
    assert correct / len(held_out) >= 0.75, f"held-out accuracy {correct}/{len(held_out)}"


def test_import_bad_input_one_line_errors(runner, tmp_path):
    result = runner.invoke(args=["data", "import-celeba", str(tmp_path), "--task", "gender"])
    assert result.exit_code != 0 and "not a readable CelebA folder" in result.output
    result = runner.invoke(args=["data", "import-celeba", str(tmp_path), "--task", "nope"])
    assert result.exit_code != 0 and "No task named 'nope'" in result.output
    (tmp_path / "pets" / "cat").mkdir(parents=True)
    result = runner.invoke(
        args=["data", "import-folder", str(tmp_path / "pets"), "--task", "gender"]
    )
    assert result.exit_code != 0 and "unknown: ['cat']" in result.output
    assert "Traceback" not in result.output


def test_imported_celeba_serves_what_ml_evaluate_scores(app, client, runner, env, tmp_path):
    """A new user's CelebA folder (140/30/30, test partition removed) -> import -> retrain -> classify.

    The served model used to rank its holdout almost perfectly yet answer the unseen photos at
    chance (stale batch-norm statistics). The 30 unseen photos must be answered well, and over
    HTTP exactly as `ml.evaluate` scores the same model on the same photos (within one image).
    """
    from ml import evaluate
    from ml.classify import data
    from tests.ml.conftest import write_lfw_celeba
    from webapp.extensions import db
    from webapp.registry import versions as registry
    from webapp.tables import ModelVersion

    as_photo_task(app, "gender")
    unseen = write_lfw_celeba(tmp_path / "celeba")
    result = runner.invoke(
        args=["data", "import-celeba", str(tmp_path / "celeba"), "--task", "gender"]
    )
    assert result.exit_code == 0 and "imported 170 images" in result.output, result.output
    worker = Worker(env, "train", tmp_path / "worker.log").start()
    try:
        result = runner.invoke(args=["retrain", "gender", "--wait"])
        assert result.exit_code == 0, result.output + worker.output()
    finally:
        worker.stop()
    assert (
        "'promoted': True" in result.output
        and "significantly better than the majority" in result.output
    )

    served = []
    for jpg, truth in unseen:
        body = client.post(
            "/api/classify",
            data={"image": (io.BytesIO(jpg), "x.jpg"), "task": "gender"},
            content_type="multipart/form-data",
        ).json
        assert body["model_version"] == "v1"
        served.append(body["label"] == truth)
    for i, (jpg, truth) in enumerate(unseen):
        (tmp_path / "unseen" / truth).mkdir(parents=True, exist_ok=True)
        (tmp_path / "unseen" / truth / f"{i:02d}.jpg").write_bytes(jpg)
    with app.app_context():
        model_dir = registry.local_dir(
            db.session.scalar(db.select(ModelVersion).where(ModelVersion.version == "v1"))
        )
    offline = evaluate.evaluate(
        model_dir, data.read_folder(tmp_path / "unseen", ["female", "male"], 0.0, 0.0)
    )

    assert offline["n"] == len(served) == 30
    assert sum(served) >= 27, (
        f"served {sum(served)}/30 right (chance is 15; the issue asks for 0.9)"
    )
    assert abs(sum(served) - round(offline["accuracy"] * 30)) <= 1, (
        sum(served),
        offline["accuracy"],
    )
