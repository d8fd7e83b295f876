"""Write scikit-image's LFW subset as a folder-per-label data set: OUT/face/*.png, OUT/non_face/*.png.

    python bench/make_lfw_dataset.py OUT [--size 64]

200 grey 25x25 images (100 faces, 100 non-faces), upscaled and stored as RGB PNGs; no download.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from anywhere: `python bench/...`

import argparse
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from skimage.data import lfw_subset


def write_lfw(out: Path, size: int = 64) -> dict[str, int]:
    """Write the 200 images and return the count per label."""
    counts = {}
    for i, grey in enumerate((lfw_subset() * 255).astype(np.uint8)):
        label = "face" if i < 100 else "non_face"
        folder = out / label
        folder.mkdir(parents=True, exist_ok=True)
        big = cv2.resize(grey, (size, size), interpolation=cv2.INTER_CUBIC)
        Image.fromarray(np.repeat(big[..., None], 3, axis=-1)).save(folder / f"{i:03d}.png")
        counts[label] = counts.get(label, 0) + 1
    return counts


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", type=int, default=64)
    args = parser.parse_args()
    print(write_lfw(args.out, args.size))
