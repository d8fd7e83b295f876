"""Classification data: CelebA and folder-per-label readers, image preparation, tf.data input.

Two layouts are recognised. CelebA (the Kaggle copy): ``img_align_celeba/`` (possibly nested
once more), ``list_attr_celeba.csv`` (image_id + 40 attributes of -1/1) and optionally
``list_eval_partition.csv`` (image_id, partition 0/1/2). Folder per label: ``DIR/<label>/*.jpg``;
its train/val/test split is a stable hash of each file's path, so training and a later
evaluation agree on the held-out images without storing a list.

Named as ``webapp/cli/data.py`` (the ``flask data`` commands) for the same role on the web
side's command line: labelled image folders, read here, imported and exported there with these
readers.
"""

from __future__ import annotations

import csv
import dataclasses
import threading
import warnings
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from ml.common import lbp_faces as faces

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
CELEBA_ATTRS = "list_attr_celeba.csv"
CELEBA_PARTITIONS = "list_eval_partition.csv"
SPLITS = {"train": 0, "val": 1, "test": 2}
DATA_DEFAULTS = {
    "attribute": None,
    "labels": None,
    "balance": False,
    "max_per_class": None,
    "val_fraction": 0.15,
    "test_fraction": 0.15,
}
PREPROCESSING_DEFAULTS = {
    "image_size": [64, 64],
    "face_crop": True,
    "face_margin": 0.25,
    "detect_size": faces.DETECT_SIZE,
}


class DataError(ValueError):
    """A data folder that cannot be used for training or evaluation."""


@dataclasses.dataclass
class Samples:
    """Image paths with integer labels, label names, partitions (0 train, 1 val, 2 test)."""

    paths: list[str]
    labels: np.ndarray
    label_names: list[str]
    partitions: np.ndarray
    skipped: list[str] = dataclasses.field(default_factory=list)
    layout: str = "folder"

    def __len__(self):
        return len(self.paths)

    def subset(self, mask) -> Samples:
        """Return the samples where ``mask`` is true."""
        idx = np.flatnonzero(mask)
        return dataclasses.replace(
            self,
            paths=[self.paths[i] for i in idx],
            labels=self.labels[idx],
            partitions=self.partitions[idx],
        )

    def split(self, name: str) -> Samples:
        """Return one partition (``train``, ``val``, ``test``) or ``all``."""
        if name == "all":
            return self
        if name not in SPLITS:
            raise ValueError(f"split must be one of {[*SPLITS, 'all']}. Received: split={name!r}")
        return self.subset(self.partitions == SPLITS[name])

    def class_counts(self) -> dict[str, int]:
        """Return how many samples each label has."""
        counts = np.bincount(self.labels, minlength=len(self.label_names))
        return dict(zip(self.label_names, counts.tolist()))


def detect_layout(data_dir) -> str:
    """Return ``"celeba"`` or ``"folder"`` for ``data_dir``, or raise DataError."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DataError(f"data folder not found: {root}")
    return "celeba" if (root / CELEBA_ATTRS).is_file() else "folder"


def celeba_image_dir(root: Path) -> Path:
    """Return the folder holding the CelebA JPEGs (handles the Kaggle nested copy)."""
    folder = root / "img_align_celeba"
    if (folder / "img_align_celeba").is_dir():
        folder = folder / "img_align_celeba"
    if not folder.is_dir():
        raise DataError(f"{root} has {CELEBA_ATTRS} but no img_align_celeba/ folder")
    return folder


def _read_csv(path: Path) -> list[dict[str, str]]:
    """Read a CSV file into a list of row dicts, stripping spaces in names and values."""
    with path.open(newline="") as handle:
        return [
            {k.strip(): (v or "").strip() for k, v in row.items() if k}
            for row in csv.DictReader(handle)
        ]


def celeba_label_map(attribute: str, labels) -> dict[int, str]:
    """Return the attribute-value -> label-name map: ``{-1: not_x, 1: x}`` by default, or from
    ``labels`` given as a {-1: name, 1: name} mapping or a [name for -1, name for 1] list."""
    if labels is None:
        name = attribute.lower()
        return {-1: f"not_{name}", 1: name}
    if isinstance(labels, (list, tuple)) and len(labels) == 2:
        return {-1: str(labels[0]), 1: str(labels[1])}
    if not isinstance(labels, dict) or len(labels) < 2:
        raise ValueError(f"CelebA labels must map -1/1 to names. Received: labels={labels!r}")
    return {int(k): str(v) for k, v in sorted(labels.items(), key=lambda kv: int(kv[0]))}


def read_celeba(root, attribute: str, labels=None) -> Samples:
    """Read the CelebA layout with ``attribute`` (e.g. ``Male``) as the label."""
    root = Path(root)
    if not attribute:
        raise DataError("the CelebA layout needs an attribute (e.g. Male or Smiling) as label")
    images, rows = celeba_image_dir(root), _read_csv(root / CELEBA_ATTRS)
    if rows and attribute not in rows[0]:
        raise DataError(f"{CELEBA_ATTRS} has no attribute {attribute!r}")
    value_to_name = celeba_label_map(attribute, labels)
    names = list(value_to_name.values())
    part_file = root / CELEBA_PARTITIONS
    parts = (
        {r["image_id"]: int(r["partition"]) for r in _read_csv(part_file)}
        if part_file.is_file()
        else {}
    )
    paths, y, p = [], [], []
    for row in rows:
        value = int(row[attribute])
        if value in value_to_name:
            paths.append(str(images / row["image_id"]))
            y.append(names.index(value_to_name[value]))
            p.append(parts.get(row["image_id"], hash_partition(row["image_id"], 0.1, 0.1)))
    return Samples(
        paths, np.array(y, dtype=np.int64), names, np.array(p, dtype=np.int64), layout="celeba"
    )


def hash_partition(name: str, val_fraction: float, test_fraction: float) -> int:
    """Return a stable partition (0, 1 or 2) for a file name."""
    u = zlib.crc32(name.encode()) / 2**32
    return 2 if u < test_fraction else 1 if u < test_fraction + val_fraction else 0


def read_folder(root, labels=None, val_fraction=0.15, test_fraction=0.15) -> Samples:
    """Read ``root/<label>/*.{jpg,jpeg,png,webp}``; ``labels`` picks and orders the folders."""
    root = Path(root)
    if isinstance(labels, dict):
        labels = list(celeba_label_map("label", labels).values())
    found = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    names = list(labels) if labels else found
    paths, y = [], []
    for index, name in enumerate(names):
        files = sorted(f for f in (root / name).glob("*") if f.suffix.lower() in IMAGE_EXTENSIONS)
        paths += [str(f) for f in files]
        y += [index] * len(files)
    parts = [
        hash_partition(str(Path(p).relative_to(root)), val_fraction, test_fraction) for p in paths
    ]
    return Samples(paths, np.array(y, dtype=np.int64), names, np.array(parts, dtype=np.int64))


def balance(samples: Samples, seed: int = 0, max_per_class=None) -> Samples:
    """Keep an equal number of samples per class in each partition (at most ``max_per_class``)."""
    rng, keep = np.random.default_rng(seed), []
    for part in np.unique(samples.partitions):
        counts = [
            np.flatnonzero((samples.partitions == part) & (samples.labels == c))
            for c in range(len(samples.label_names))
        ]
        n = min((len(c) for c in counts if len(c)), default=0)
        cap = cap_for(max_per_class, part)
        n = min(n, cap) if cap else n
        keep += [rng.choice(c, size=n, replace=False) for c in counts if len(c)]
    mask = np.zeros(len(samples), dtype=bool)
    mask[np.concatenate(keep) if keep else []] = True
    return samples.subset(mask)


def cap_for(max_per_class, partition: int) -> int | None:
    """Return the per-class cap for a partition from an int or a {train:, val:, test:} mapping."""
    if isinstance(max_per_class, dict):
        return max_per_class.get({v: k for k, v in SPLITS.items()}[int(partition)])
    return max_per_class


def is_readable_image(path: str) -> bool:
    """Return True when Pillow can fully decode ``path`` (JPEGs at reduced size, for speed)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                image.draft("RGB", (64, 64))
                image.load()
        return True
    except Exception:  # noqa: BLE001 - any failure means the file is unusable
        return False


def drop_unreadable(samples: Samples, workers: int = 8) -> Samples:
    """Drop files that do not decode; their paths go to ``samples.skipped``."""
    with ThreadPoolExecutor(workers) as pool:
        ok = np.fromiter(pool.map(is_readable_image, samples.paths), dtype=bool, count=len(samples))
    kept = samples.subset(ok)
    kept.skipped = samples.skipped + [p for p, good in zip(samples.paths, ok) if not good]
    return kept


def load_samples(data_dir, config: dict | None = None, seed: int = 0) -> Samples:
    """Read ``data_dir`` (layout auto-detected) per the ``data`` config; unreadable files skipped."""
    cfg = {**DATA_DEFAULTS, **(config or {})}
    if detect_layout(data_dir) == "celeba":
        samples = read_celeba(data_dir, cfg["attribute"], cfg["labels"])
    else:
        samples = read_folder(data_dir, cfg["labels"], cfg["val_fraction"], cfg["test_fraction"])
    if cfg["balance"] or cfg["max_per_class"]:
        samples = (
            balance(samples, seed, cfg["max_per_class"])
            if cfg["balance"]
            else _cap_per_class(samples, cfg["max_per_class"], seed)
        )
    samples = drop_unreadable(samples)
    if len(samples) == 0 or len(set(samples.labels.tolist())) < 2:
        raise DataError(
            f"{data_dir} has images of fewer than 2 labels (found {samples.class_counts()})"
        )
    return samples


def _cap_per_class(samples: Samples, max_per_class: int, seed: int) -> Samples:
    """Keep at most ``max_per_class`` random samples of each class in each partition."""
    rng, mask = np.random.default_rng(seed), np.zeros(len(samples), dtype=bool)
    for part in np.unique(samples.partitions):
        for c in range(len(samples.label_names)):
            idx = np.flatnonzero((samples.partitions == part) & (samples.labels == c))
            mask[rng.permutation(idx)[: cap_for(max_per_class, part)]] = True
    return samples.subset(mask)


def load_image(path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array (EXIF orientation applied)."""
    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def resize_to(image: np.ndarray, size) -> np.ndarray:
    """Centre-crop ``image`` to the aspect ratio of ``size`` (H, W), then resize to it."""
    height, width = int(size[0]), int(size[1])
    h, w = image.shape[:2]
    crop_h, crop_w = min(h, round(w * height / width)), min(w, round(h * width / height))
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    image = image[top : top + crop_h, left : left + crop_w]
    shrink = crop_h > height or crop_w > width
    return cv2.resize(
        image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    )


def prepare_image(image, preprocessing: dict) -> tuple[np.ndarray, tuple | None]:
    """Face-crop (when configured) and resize an RGB image; returns (uint8 image, face box)."""
    cfg = {**PREPROCESSING_DEFAULTS, **preprocessing}
    image, box = faces.check_rgb(image), None
    if cfg["face_crop"]:
        box = faces.detect_face(image, cfg["detect_size"])
        image = faces.crop_face(image, box, cfg["face_margin"])
    return resize_to(image, cfg["image_size"]), box


class SkipCounter:
    """Thread-safe list of files that failed while the input pipeline decoded them."""

    def __init__(self):
        self.paths, self._lock = [], threading.Lock()

    def add(self, path: str):
        """Record one skipped file."""
        with self._lock:
            self.paths.append(path)


def build_augmenter(augmentation: dict | None, seed: int = 0):
    """Return a Keras Sequential of random layers for ``augmentation``, or None when empty."""
    import keras  # lazy: `flask data` reads folders with this module

    cfg, layers = augmentation or {}, []
    if cfg.get("rotation"):
        layers.append(keras.layers.RandomRotation(cfg["rotation"], fill_mode="reflect", seed=seed))
    if cfg.get("translation"):
        t = cfg["translation"]
        layers.append(keras.layers.RandomTranslation(t, t, fill_mode="reflect", seed=seed + 1))
    if cfg.get("zoom"):
        layers.append(keras.layers.RandomZoom(cfg["zoom"], fill_mode="reflect", seed=seed + 2))
    if cfg.get("flip"):
        layers.append(keras.layers.RandomFlip(cfg["flip"], seed=seed + 3))
    if cfg.get("brightness"):
        layers.append(
            keras.layers.RandomBrightness(cfg["brightness"], value_range=(0, 255), seed=seed + 4)
        )
    if cfg.get("contrast"):
        layers.append(
            keras.layers.RandomContrast(cfg["contrast"], value_range=(0, 255), seed=seed + 5)
        )
    return keras.Sequential(layers, name="augmentation") if layers else None


def _decoder(preprocessing: dict, skips: SkipCounter | None):
    """Return a path -> (uint8 image, ok) function for ``tf.numpy_function``."""
    size = tuple(
        int(s) for s in preprocessing.get("image_size", PREPROCESSING_DEFAULTS["image_size"])
    )

    def decode(path):
        path = path.decode()
        try:
            return prepare_image(load_image(path), preprocessing)[0], True
        except Exception:  # noqa: BLE001 - a bad file is skipped and counted, never fatal
            if skips is not None:
                skips.add(path)
            return np.zeros((*size, 3), np.uint8), False

    return decode, size


def _to_float(images, labels, weights):
    """Cast a uint8 batch to float32 (still 0..255)."""
    import tensorflow as tf  # lazy: `flask data` reads folders with this module

    return tf.cast(images, tf.float32), labels, weights


def make_dataset(
    samples: Samples,
    preprocessing: dict,
    *,
    batch_size: int = 32,
    training: bool = False,
    augmentation: dict | None = None,
    seed: int = 0,
    cache=True,
    skips=None,
    class_weight=None,
):
    """Return a batched ``tf.data.Dataset`` of (float32 0..255 images, int labels, sample weights).

    A file that fails to decode here becomes a black image of weight 0 (and is counted in
    ``skips``): filtering it out would hide the data set's length from Keras. ``class_weight``
    ({label index: weight}) is folded into the weights.
    """
    import tensorflow as tf  # lazy: `flask data` reads folders with this module

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    decode, size = _decoder(preprocessing, skips)
    per_class = [float((class_weight or {}).get(c, 1.0)) for c in range(len(samples.label_names))]

    def load(path, label):
        image, ok = tf.numpy_function(decode, [path], [tf.uint8, tf.bool], stateful=False)
        weight = tf.gather(tf.constant(per_class), label) * tf.cast(
            tf.ensure_shape(ok, ()), tf.float32
        )
        return tf.ensure_shape(image, (*size, 3)), label, weight

    ds = tf.data.Dataset.from_tensor_slices((list(samples.paths), samples.labels.astype("int32")))
    ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        ds = ds.cache(cache if isinstance(cache, str) else "")
    if training:
        ds = ds.shuffle(min(len(samples), 10_000), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(_to_float)
    augmenter = build_augmenter(augmentation, seed) if training else None
    if augmenter is not None:
        ds = ds.map(
            lambda x, y, w: (augmenter(x, training=True), y, w), num_parallel_calls=tf.data.AUTOTUNE
        )
    return ds.prefetch(tf.data.AUTOTUNE)
