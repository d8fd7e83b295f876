"""Data readers, the input pipeline and the NumPy metrics."""

from __future__ import annotations

import numpy as np
import pytest

from ml.classify import data, evaluate
from tests.ml.conftest import write_celeba

PREP = {"image_size": [32, 32], "face_crop": False}


def test_celeba_nested_layout_reads_labels_partitions_and_skips_bad_files(celeba_dir):
    samples = data.load_samples(
        celeba_dir, {"attribute": "Male", "labels": {-1: "female", 1: "male"}}
    )
    assert data.detect_layout(celeba_dir) == "celeba"
    assert samples.label_names == ["female", "male"]
    assert len(samples) == 400 and len(samples.skipped) == 2
    assert samples.class_counts() == {"female": 200, "male": 200}
    assert [len(samples.split(s)) for s in ("train", "val", "test")] == [280, 40, 80]


def test_celeba_flat_layout_and_any_attribute(tmp_path):
    root = write_celeba(tmp_path, nested=False, copies=1, corrupt=False)
    samples = data.load_samples(root, {"attribute": "Smiling"})
    assert samples.label_names == ["not_smiling", "smiling"]
    assert len(samples) == 200 and samples.skipped == []


def test_celeba_needs_a_known_attribute(celeba_dir):
    with pytest.raises(data.DataError, match="Bald"):
        data.load_samples(celeba_dir, {"attribute": "Bald"})


def test_folder_layout_skips_unreadable_and_ignores_other_files(folder_dir):
    samples = data.load_samples(folder_dir)
    assert data.detect_layout(folder_dir) == "folder"
    assert samples.label_names == ["face", "non_face"]
    assert len(samples) == 200 and [p.rsplit("/", 1)[-1] for p in samples.skipped] == ["broken.png"]
    again = data.load_samples(folder_dir)
    assert (samples.partitions == again.partitions).all()  # the hash split is stable


def test_balanced_sampling_equalises_classes_per_partition(folder_dir):
    unbalanced = data.load_samples(folder_dir, {"labels": ["face", "non_face"]})
    keep = np.ones(len(unbalanced), bool)
    keep[np.flatnonzero(unbalanced.labels == 0)[:60]] = False
    samples = data.balance(unbalanced.subset(keep), seed=1)
    for part in range(3):
        counts = np.bincount(samples.labels[samples.partitions == part], minlength=2)
        assert counts[0] == counts[1] > 0
    capped = data.load_samples(folder_dir, {"balance": True, "max_per_class": {"train": 10}})
    assert capped.split("train").class_counts() == {"face": 10, "non_face": 10}


def test_dataset_batches_and_counts_files_that_fail_late(folder_dir, tmp_path):
    samples = data.load_samples(folder_dir)
    bad = tmp_path / "late.jpg"
    bad.write_bytes(b"garbage")
    samples.paths[0] = str(bad)
    skips = data.SkipCounter()
    ds = data.make_dataset(
        samples,
        PREP,
        batch_size=64,
        training=True,
        augmentation={"rotation": 0.05, "flip": "horizontal", "brightness": 0.1},
        skips=skips,
    )
    batches = list(ds)
    shapes = [x.shape for x, _, _ in batches]
    assert (
        shapes[0] == (64, 32, 32, 3)
        and sum(float(w.numpy().sum()) for _, _, w in batches) == len(samples) - 1
    )
    assert skips.paths == [str(bad)]


def test_prepare_image_crops_a_face_and_resizes():
    from skimage.data import astronaut

    image, box = data.prepare_image(astronaut(), {"image_size": [48, 40], "face_crop": True})
    assert image.shape == (48, 40, 3) and image.dtype == np.uint8
    x, y, w, h = box
    assert 150 < x < 200 and 50 < y < 100 and 80 < w < 130


def test_metrics_from_predictions_match_hand_computed_values():
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.3, 0.7], [0.2, 0.8], [0.55, 0.45]])
    m = evaluate.metrics_from_predictions([0, 0, 1, 1, 1], probs, ["a", "b"])
    assert m["accuracy"] == pytest.approx(0.8)
    assert m["confusion_matrix"] == [[2, 0], [1, 2]]
    assert m["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert m["per_class"]["a"]["precision"] == pytest.approx(2 / 3)
    assert m["roc_auc"] == pytest.approx(1.0)
    three = evaluate.metrics_from_predictions([0, 1, 2], np.eye(3)[[0, 2, 1]], ["x", "y", "z"])
    assert three["accuracy"] == pytest.approx(1 / 3) and three["roc_auc"] == pytest.approx(0.5)
