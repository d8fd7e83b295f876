"""Fixtures for the classification tests: a small CelebA-layout data set built from skimage's LFW subset."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
IMAGE_SIZE = 64
CONFIGS = Path(__file__).resolve().parents[2] / "ml" / "configs"


def lfw_rgb_images(size: int = IMAGE_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Return skimage's 200 LFW-subset images as (N, size, size, 3) uint8 and face (1) / non-face (0) labels."""
    import cv2
    from skimage.data import lfw_subset

    grey = (lfw_subset() * 255).astype(np.uint8)
    images = np.stack([cv2.resize(g, (size, size), interpolation=cv2.INTER_CUBIC) for g in grey])
    return np.repeat(images[..., None], 3, axis=-1), (np.arange(200) < 100).astype(int)


def jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return a flipped, shifted, brightness-changed copy of ``image``."""
    shifted = np.roll(image[:, ::-1], rng.integers(-3, 4, size=2), axis=(0, 1)).astype(np.int16)
    return np.clip(shifted + rng.integers(-25, 26), 0, 255).astype(np.uint8)


def write_celeba(root: Path, nested: bool = True, copies: int = 2, corrupt: bool = True) -> Path:
    """Write a CelebA-layout data set whose ``Male`` column is face (1) / non-face (-1)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    images, labels = lfw_rgb_images()
    folder = root / "img_align_celeba" / ("img_align_celeba" if nested else "")
    folder.mkdir(parents=True, exist_ok=True)
    rows, parts = [], []
    for i, (image, label) in enumerate(zip(images, labels)):
        part = 0 if i % 10 < 7 else 1 if i % 10 == 7 else 2
        for c in range(copies):
            name = f"{i * copies + c + 1:06d}.jpg"
            Image.fromarray(image if c == 0 else jitter(image, rng)).save(folder / name, quality=95)
            rows.append([name, 1 if label else -1, int(rng.choice([-1, 1])), -1])
            parts.append([name, part])
    if corrupt:
        (folder / "999998.jpg").write_bytes(b"not a jpeg at all" * 10)
        (folder / "999999.jpg").write_bytes((folder / "000001.jpg").read_bytes()[:300])
        rows += [["999998.jpg", 1, 1, -1], ["999999.jpg", -1, 1, -1]]
        parts += [["999998.jpg", 0], ["999999.jpg", 0]]
    _write_csv(root / "list_attr_celeba.csv", ["image_id", "Male", "Smiling", "Young"], rows)
    _write_csv(root / "list_eval_partition.csv", ["image_id", "partition"], parts)
    return root


ATTRIBUTES = (
    "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs Big_Lips Big_Nose "
    "Black_Hair Blond_Hair Blurry Brown_Hair Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee "
    "Gray_Hair Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache Narrow_Eyes No_Beard "
    "Oval_Face Pale_Skin Pointy_Nose Receding_Hairline Rosy_Cheeks Sideburns Smiling Straight_Hair "
    "Wavy_Hair Wearing_Earrings Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
).split()


def write_lfw_celeba(root: Path, seed: int = 0, sizes=(140, 30, 30)) -> list[tuple[bytes, str]]:
    """Write a CelebA-layout folder as a new user would make one, without its test partition.

    100 LFW faces as ``Male=1``, 100 non-faces as ``Male=-1``; 25x25 grey upscaled bicubic to
    178x218 RGB JPEG; all 40 attributes; a shuffled train/val/test partition of ``sizes``.
    Returns the test photos as (JPEG bytes, ``male``/``female``), never written to ``root``.
    """
    import cv2
    from PIL import Image
    from skimage.data import lfw_subset

    rng = np.random.default_rng(seed)
    grey = (lfw_subset() * 255).astype(np.uint8)
    order = rng.permutation(len(grey))
    partition = np.zeros(len(grey), dtype=int)
    partition[order[sizes[0] : sizes[0] + sizes[1]]] = 1
    partition[order[sizes[0] + sizes[1] : sum(sizes)]] = 2
    folder = root / "img_align_celeba" / "img_align_celeba"
    folder.mkdir(parents=True)
    attrs, parts, test = [], [], []
    for i, g in enumerate(grey):
        big = cv2.resize(g, (178, 218), interpolation=cv2.INTER_CUBIC)
        buf = io.BytesIO()
        Image.fromarray(np.repeat(big[..., None], 3, axis=-1)).save(buf, format="JPEG", quality=95)
        male = 1 if i < 100 else -1
        if partition[i] == 2:
            test.append((buf.getvalue(), "male" if male == 1 else "female"))
            continue
        name = f"{i + 1:06d}.jpg"
        (folder / name).write_bytes(buf.getvalue())
        row = {a: int(rng.choice([-1, 1])) for a in ATTRIBUTES}
        attrs.append([name, *[male if a == "Male" else row[a] for a in ATTRIBUTES]])
        parts.append([name, int(partition[i])])
    _write_csv(root / "list_attr_celeba.csv", ["image_id", *ATTRIBUTES], attrs)
    _write_csv(root / "list_eval_partition.csv", ["image_id", "partition"], parts)
    return test


def _write_csv(path: Path, header: list[str], rows: list[list]):
    """Write a small CSV file."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="session")
def celeba_dir(tmp_path_factory) -> Path:
    """A nested Kaggle-style CelebA copy: 400 images (200 LFW + jittered copies) and 2 corrupt files."""
    return write_celeba(tmp_path_factory.mktemp("celeba"))


@pytest.fixture(scope="session")
def folder_dir(tmp_path_factory) -> Path:
    """A folder-per-label data set (face/, non_face/) with one corrupt file."""
    from PIL import Image

    root = tmp_path_factory.mktemp("folder")
    images, labels = lfw_rgb_images()
    for i, (image, label) in enumerate(zip(images, labels)):
        out = root / ("face" if label else "non_face")
        out.mkdir(exist_ok=True)
        Image.fromarray(image).save(out / f"{i:03d}.{'png' if i % 2 else 'jpg'}")
    (root / "face" / "broken.png").write_bytes(b"\x89PNG garbage")
    (root / "face" / "notes.txt").write_text("not an image")
    return root


@pytest.fixture(scope="session")
def trained_default(celeba_dir, tmp_path_factory) -> Path:
    """The default config trained for 3 epochs on the CelebA fixture, through the CLI entry point."""
    from ml import train

    out = tmp_path_factory.mktemp("model_default")
    status = train.main(
        [
            str(CONFIGS / "default.yaml"),
            "--data",
            str(celeba_dir),
            "--out",
            str(out),
            "--epochs",
            "3",
            "--set",
            "data.attribute=Male",
        ]
    )
    assert status == 0
    return out


@pytest.fixture(scope="session")
def pretrained_dirs() -> dict:
    """The wheel's arbitrary and preset networks, converted once per machine into the cache every
    test app shares (the conversion renames a finished folder into place: safe to share)."""
    from ml.style.fast_style import pretrained_model_dir
    from tests.conftest import PRETRAINED_CACHE

    return {kind: pretrained_model_dir(kind, PRETRAINED_CACHE) for kind in ("arbitrary", "preset")}
