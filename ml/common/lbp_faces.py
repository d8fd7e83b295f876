"""RGB pictures checked and shrunk, and a light face crop for the photo classifiers and the style judge.

The crop's detector is scikit-image's LBP frontal-face cascade (OpenCV 5's headless wheel no
longer ships ``CascadeClassifier`` or its Haar files; scikit-image bundles OpenCV's LBP model
file), run on a downscaled grey copy of the image for speed. The face tasks use dlib's detector
(``ml.faces.align``). It lives here, below both ``ml.classify`` and ``ml.faces``, so neither
package imports the other to crop a face.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
from skimage.data import lbp_frontal_face_cascade_filename
from skimage.feature import Cascade

DETECT_SIZE = 128
MIN_FACE_FRACTION = 0.12
_local = threading.local()


def _detector():
    """Return this thread's cascade (the Cython object is not shared across threads)."""
    if not hasattr(_local, "cascade"):
        _local.cascade = Cascade(lbp_frontal_face_cascade_filename())
    return _local.cascade


def check_rgb(image) -> np.ndarray:
    """Return ``image`` as an (H, W, 3) uint8 array, or raise ValueError."""
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4) or min(image.shape[:2]) < 1:
        raise ValueError(f"Expected an RGB image of shape (H, W, 3). Received: shape={image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"Expected a uint8 image. Received: dtype={image.dtype}")
    return np.ascontiguousarray(image[..., :3])


def downscaled(image: np.ndarray, long_side: int) -> tuple[np.ndarray, float]:
    """``image`` shrunk (area-averaged) so its long side is at most ``long_side``, and the scale used."""
    h, w = image.shape[:2]
    scale = min(1.0, long_side / max(h, w))
    if scale >= 1:
        return image, 1.0
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def detect_face(image, detect_size: int = DETECT_SIZE) -> tuple[int, int, int, int] | None:
    """Return the largest face in an RGB uint8 image as ``(x, y, w, h)``, or None."""
    image = check_rgb(image)
    if detect_size < 24:
        raise ValueError(f"detect_size must be at least 24. Received: detect_size={detect_size}")
    small, scale = downscaled(image, detect_size)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    side = min(grey.shape)
    min_face = max(24, int(side * MIN_FACE_FRACTION))
    if side < min_face:
        return None
    found = _detector().detect_multi_scale(
        img=grey,
        scale_factor=1.2,
        step_ratio=1,
        min_size=(min_face, min_face),
        max_size=(side, side),
    )
    if not found:
        return None
    best = max(found, key=lambda d: d["width"] * d["height"])
    return tuple(
        int(round(v / scale)) for v in (best["c"], best["r"], best["width"], best["height"])
    )


def crop_face(image, box, margin: float = 0.25) -> np.ndarray:
    """Crop ``box`` grown by ``margin`` (fraction of its size per side), clipped to the image."""
    image = check_rgb(image)
    if box is None:
        return image
    if margin < 0:
        raise ValueError(f"margin must be >= 0. Received: margin={margin}")
    x, y, w, h = box
    height, width = image.shape[:2]
    x0, y0 = max(0, int(x - margin * w)), max(0, int(y - margin * h))
    x1, y1 = min(width, int(x + w + margin * w)), min(height, int(y + h + margin * h))
    if x1 <= x0 or y1 <= y0:
        return image
    return image[y0:y1, x0:x1]
