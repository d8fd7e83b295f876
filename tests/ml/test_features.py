"""The few-label default: features cached by content hash, a head on them, served like any classifier."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ml import train
from ml.classify import classifier, data, features
from ml.classify.inference import Classifier
from tests.ml.conftest import CONFIGS, lfw_rgb_images

TINY = {
    "image_size": [32, 32],
    "output_layer": "block3_pool",
    "epochs": 20,
    "face_crop": False,
    "data.labels": ["face", "other"],
    "test_fraction": 0.0,
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("lfw_small")
    images, labels = lfw_rgb_images(32)
    for i in list(range(0, 20)) + list(range(100, 120)):
        name = "face" if labels[i] else "other"
        (root / name).mkdir(exist_ok=True)
        Image.fromarray(images[i]).save(root / name / f"{i:03d}.png")
    return root


@pytest.mark.slow
def test_second_retrain_reads_every_feature_from_the_cache_and_serves_the_same_features(
    folder, tmp_path
):
    cache, messages = tmp_path / "cache", []
    first = train.train(
        CONFIGS / "default.yaml",
        folder,
        tmp_path / "m1",
        feature_cache=cache,
        progress=lambda f, m: messages.append(m),
        **TINY,
    )
    stored = list(cache.rglob("*.npy"))
    assert len(stored) == 2 * 40 and any(
        "new images" in m for m in messages
    )  # each image and its mirror
    messages.clear()
    train.train(
        CONFIGS / "default.yaml",
        folder,
        tmp_path / "m2",
        feature_cache=cache,
        progress=lambda f, m: messages.append(m),
        **TINY,
    )
    assert not any("new images" in m for m in messages) and len(list(cache.rglob("*.npy"))) == 80
    assert first["features"]["backbone"] == "vgg16:hed:block3_pool:avg:32x32"

    # the served model sees the pixels and features training cached, and has learnt the task
    clf = Classifier.load(tmp_path / "m2")
    config = classifier.apply_overrides(classifier.load_config(CONFIGS / "default.yaml"), TINY)
    store = features.FeatureCache(cache, features.backbone_id(config))
    extractor = features.build_extractor(config)
    samples = data.read_folder(folder, ["face", "other"], 0.0, 0.0)
    images = [data.load_image(p) for p in samples.paths]
    prepared = [clf.prepare(image)[0] for image in images]
    cached = np.stack(
        [store.get(store.key(p)) for p in prepared]
    )  # a miss would be None and fail to stack
    np.testing.assert_allclose(
        np.asarray(extractor(np.stack(prepared).astype("float32"))), cached, rtol=1e-3, atol=1e-3
    )
    right = np.mean(
        [
            p.label == samples.label_names[y]
            for p, y in zip(clf.predict_batch(images), samples.labels)
        ]
    )
    assert right >= 0.9


def test_features_need_global_pooling(folder, tmp_path):
    with pytest.raises(ValueError, match="pooling"):
        train.train(
            CONFIGS / "default.yaml", folder, tmp_path / "m", **{**TINY, "model.pooling": "flatten"}
        )
