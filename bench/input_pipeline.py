"""Training input pipeline throughput (images/s): ml.classify.data's tf.data pipeline vs a naive loader.

    python bench/input_pipeline.py [--images 400] [--size 64] [--face-crop]

Generates JPEGs (178x218, the CelebA size: the astronaut photo plus noise) in a temp folder.
Naive: one image at a time with PIL + ml.classify.data.prepare_image, batches stacked in Python.
tf.data: ml.classify.data.make_dataset (parallel decode, cache, prefetch); the first epoch decodes,
later epochs read the cache. Augmentation is off in both, so the loaders are compared alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from ml.classify import data


def write_images(folder: Path, n: int) -> data.Samples:
    """Write ``n`` noisy 178x218 JPEGs in two label folders and read them back as Samples."""
    from skimage.data import astronaut

    base, rng = data.resize_to(astronaut(), (218, 178)).astype(np.int16), np.random.default_rng(0)
    for i in range(n):
        out = folder / ("a" if i % 2 else "b")
        out.mkdir(exist_ok=True)
        noisy = np.clip(base + rng.integers(-20, 21, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(noisy).save(out / f"{i:05d}.jpg", quality=90)
    return data.load_samples(folder)


def naive(samples: data.Samples, prep: dict, batch_size: int) -> float:
    """Return images/s of a one-image-at-a-time PIL loader."""
    start = time.perf_counter()
    for i in range(0, len(samples), batch_size):
        batch = [
            data.prepare_image(np.asarray(Image.open(p).convert("RGB")), prep)[0]
            for p in samples.paths[i : i + batch_size]
        ]
        np.stack(batch).astype(np.float32)
    return len(samples) / (time.perf_counter() - start)


def pipeline(samples: data.Samples, prep: dict, batch_size: int, epochs: int = 3) -> list[float]:
    """Return images/s of each epoch of ml.classify.data.make_dataset."""
    ds, rates = data.make_dataset(samples, prep, batch_size=batch_size, training=True), []
    for _ in range(epochs):
        start = time.perf_counter()
        count = sum(int(x.shape[0]) for x, _, _ in ds)
        rates.append(count / (time.perf_counter() - start))
    return rates


def main() -> None:
    """Print images/s of both loaders."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--face-crop", action="store_true")
    args = parser.parse_args()
    prep = {"image_size": [args.size, args.size], "face_crop": args.face_crop}
    with tempfile.TemporaryDirectory() as tmp:
        samples = write_images(Path(tmp), args.images)
        slow = naive(samples, prep, args.batch_size)
        fast = pipeline(samples, prep, args.batch_size)
    print(f"images={len(samples)} size={args.size} face_crop={args.face_crop}")
    print(f"naive PIL loader:          {slow:8.0f} images/s")
    print(f"tf.data epoch 1 (decode):  {fast[0]:8.0f} images/s")
    print(f"tf.data epoch 2+ (cached): {np.mean(fast[1:]):8.0f} images/s")


if __name__ == "__main__":
    main()
