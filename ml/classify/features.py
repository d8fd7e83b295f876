"""Few-label classifiers on pretrained features: a frozen offline VGG16, a feature cache, a small head.

A retrain with a few hundred labels learns little from scratch, but a linear head on pretrained
features separates most photo tasks from tens of labels. Training computes each image's pooled
backbone features once (and those of its mirror image, the light augmentation), keeps them in a
cache keyed by the sha256 of the prepared pixels plus the backbone id, and fits only the head;
a later retrain with more labels recomputes nothing it has seen. The saved ``model.keras`` is
the whole network (Normalize -> backbone -> pooling -> standardise -> softmax), so it serves
through ``ml.classify.inference.Classifier`` with the same ``ml.classify.data.prepare_image`` preprocessing.
"""

from __future__ import annotations

import hashlib
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import keras
import numpy as np

from ml.classify import data
from ml.classify.blocks import (
    NORMALIZATION,
    Normalize,
    class_weights,
    compile_model,
    frozen_backbone,
)
from ml.classify.folder import save_model_folder
from ml.common.stoppable import check_stop

FEATURE_BATCH = 32


def backbone_id(config: dict) -> str:
    """A string naming everything that changes the features: backbone, weights, cut, pooling, input size."""
    m, size = config["model"], config["preprocessing"]["image_size"]
    return (
        f"{m['backbone']}:{m['weights']}:{m['output_layer'] or 'top'}:{m['pooling']}:"
        f"{int(size[0])}x{int(size[1])}"
    )


class FeatureCache:
    """Feature vectors on disk, one ``.npy`` per (pixels, backbone) sha256; ``folder=None`` keeps nothing."""

    def __init__(self, folder, backbone: str):
        self.backbone = backbone
        self.folder = (
            Path(folder) / hashlib.sha256(backbone.encode()).hexdigest()[:16] if folder else None
        )
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / "backbone.txt").write_text(backbone)

    def key(self, pixels: np.ndarray) -> str:
        """sha256 of the backbone id, the array's shape and its bytes."""
        h = hashlib.sha256(self.backbone.encode())
        h.update(repr(pixels.shape).encode())
        h.update(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The cached vector, or None."""
        if self.folder is None:
            return None
        try:
            return np.load(self._path(key))
        except (OSError, ValueError):
            return None

    def put(self, key: str, vector: np.ndarray) -> None:
        """Store one vector (written to a temporary name first, so readers never see half a file)."""
        if self.folder is None:
            return
        path = self._path(key)
        path.parent.mkdir(exist_ok=True)
        tmp = path.with_name(f"{key}.{time.monotonic_ns()}.tmp.npy")
        np.save(tmp, vector.astype(np.float32))
        tmp.replace(path)


def build_extractor(config: dict) -> keras.Model:
    """RGB 0..255 images -> pooled backbone features (Normalize, frozen backbone, global pooling)."""
    m, size = config["model"], config["preprocessing"]["image_size"]
    input_shape = (int(size[0]), int(size[1]), 3)
    backbone = frozen_backbone(m, input_shape)
    pooling = {
        "avg": keras.layers.GlobalAveragePooling2D,
        "max": keras.layers.GlobalMaxPooling2D,
    }.get(m["pooling"])
    if pooling is None:
        raise ValueError(
            f"model.pooling must be avg or max for type features. Received: pooling={m['pooling']!r}"
        )
    inputs = keras.Input(input_shape, name="image")
    x = Normalize(NORMALIZATION[m["backbone"].lower()], name="normalize")(inputs)
    x = backbone(x, training=False)
    return keras.Model(inputs, pooling(name="pool")(x), name="features")


def build_head(
    config: dict, n_features: int, num_classes: int, mean=None, variance=None
) -> keras.Model:
    """Standardise the features (statistics of the training set), dropout, an L2-regularised softmax."""
    m = config["model"]
    inputs = keras.Input((n_features,), name="features")
    x = (
        keras.layers.Normalization(mean=mean, variance=variance, name="standardize")(inputs)
        if mean is not None
        else inputs
    )
    if m["dense_dropout"]:
        x = keras.layers.Dropout(m["dense_dropout"], name="head_dropout")(x)
    reg = keras.regularizers.L2(m["l2"]) if m["l2"] else None
    out = keras.layers.Dense(
        num_classes,
        activation="softmax",
        dtype="float32",
        kernel_regularizer=reg,
        name="probabilities",
    )(x)
    return keras.Model(inputs, out, name="head")


def full_model(extractor: keras.Model, head: keras.Model) -> keras.Model:
    """The servable network: image -> extractor -> head, one ``model.keras``."""
    inputs = keras.Input(extractor.input_shape[1:], name="image")
    x = inputs
    for layer in extractor.layers[1:]:
        x = layer(x)
    for layer in head.layers[1:]:
        x = layer(x)
    return keras.Model(inputs, x, name="features_classifier")


def build_features_model(config: dict, num_classes: int) -> keras.Model:
    """An untrained features classifier (for ``classifier.build_model``; training sets the head)."""
    extractor = build_extractor(config)
    n = int(extractor.output_shape[-1])
    return full_model(extractor, build_head(config, n, num_classes, np.zeros(n), np.ones(n)))


def _prepare(paths, preprocessing: dict) -> tuple[list[np.ndarray], list[bool]]:
    """Decode, face-crop and resize every file (threads); unreadable ones come back as None."""

    def one(path):
        try:
            return data.prepare_image(data.load_image(path), preprocessing)[0]
        except (OSError, ValueError, SyntaxError):
            return None

    with ThreadPoolExecutor(4) as pool:
        images = list(pool.map(one, paths))
    return images, [img is not None for img in images]


def compute_features(
    extractor, images: list[np.ndarray], cache: FeatureCache, progress=None, should_stop=None
) -> np.ndarray:
    """Features of each uint8 image, from the cache where seen before; returns (N, F) float32."""
    keys = [cache.key(img) for img in images]
    vectors = [cache.get(k) for k in keys]
    missing = [i for i, v in enumerate(vectors) if v is None]
    for start in range(0, len(missing), FEATURE_BATCH):
        _check(should_stop)
        chunk = missing[start : start + FEATURE_BATCH]
        batch = np.stack([images[i] for i in chunk]).astype(np.float32)
        out = np.asarray(extractor(batch, training=False))
        for i, vector in zip(chunk, out):
            vectors[i] = vector
            cache.put(keys[i], vector)
        if progress:
            progress(
                min(start + FEATURE_BATCH, len(missing)) / len(missing),
                f"features of {min(start + FEATURE_BATCH, len(missing))}/{len(missing)} new images",
            )
    return np.stack(vectors).astype(np.float32) if vectors else np.zeros((0, 0), np.float32)


def augmented(
    images: list[np.ndarray], labels: np.ndarray, augmentation: dict
) -> tuple[list, np.ndarray]:
    """The images plus their mirror images when ``augmentation.flip`` asks for it (cacheable, unlike random ops)."""
    if (augmentation or {}).get("flip") not in ("horizontal", "horizontal_and_vertical", True):
        return images, labels
    return images + [np.ascontiguousarray(img[:, ::-1]) for img in images], np.concatenate(
        [labels, labels]
    )


def fit_head(
    config: dict, x: np.ndarray, y: np.ndarray, num_classes: int, seed: int, should_stop=None
):
    """Fit the head on features ``x`` with balanced class weights; return (head, history dict)."""
    t = config["training"]
    keras.utils.set_random_seed(seed)
    head = build_head(config, x.shape[1], num_classes, x.mean(axis=0), x.var(axis=0) + 1e-6)
    compile_model(head, t["learning_rate"], t["optimizer"])
    weights = class_weights(y, num_classes, t["class_weight"])
    stop = [keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: _check(should_stop))]
    hist = head.fit(
        x,
        y,
        batch_size=int(t["batch_size"]),
        epochs=int(t["epochs"]),
        class_weight=weights,
        shuffle=True,
        verbose=0,
        callbacks=stop,
    )
    return head, {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def _check(should_stop) -> None:
    check_stop(should_stop)


def train_features_classifier(
    config: dict, data_dir, out: Path, progress, should_stop, seed: int, feature_cache=None
) -> dict:
    """Train a features classifier from a full config; write and return its model folder summary."""
    started = time.monotonic()
    keras.utils.set_random_seed(seed)
    samples = data.load_samples(data_dir, config["data"], seed)
    splits = {name: samples.split(name) for name in data.SPLITS}
    fit_on = splits["train"]
    if config["training"].get("fit_on_val"):
        fit_on = samples.subset(samples.partitions != data.SPLITS["test"])
    if len(fit_on) == 0:
        raise data.DataError(f"{data_dir} has no training images")
    progress(0.0, f"{len(fit_on)} training images {fit_on.class_counts()}")
    images, ok = _prepare(fit_on.paths, config["preprocessing"])
    images, labels = (
        [img for img, k in zip(images, ok) if k],
        fit_on.labels[np.array(ok, dtype=bool)],
    )
    images, labels = augmented(images, labels, config["augmentation"])
    extractor = build_extractor(config)
    cache = FeatureCache(feature_cache, backbone_id(config))
    x = compute_features(
        extractor, images, cache, lambda f, m: progress(0.05 + 0.6 * f, m), should_stop
    )
    progress(0.7, f"training the head on {len(x)} feature vectors")
    head, history = fit_head(config, x, labels, len(samples.label_names), seed, should_stop)
    model = full_model(extractor, head)
    out.mkdir(parents=True, exist_ok=True)
    progress(0.9, "evaluating and saving")
    summary = save_model_folder(model, config, samples, splits, history, out, seed)
    summary["skipped"] = len(samples.skipped) + int(len(ok) - sum(ok))
    summary["seconds"] = round(time.monotonic() - started, 2)
    summary["features"] = {"backbone": cache.backbone, "computed_or_cached": len(x)}
    progress(1.0, f"done: {json.dumps(summary['metrics'].get('summary', {}))}")
    return summary
