"""Image arrays every part of ml/ reads, resizes and writes the same way."""

from __future__ import annotations

import numpy as np


def resize_long_side(image: np.ndarray, size: int, multiple: int = 1) -> np.ndarray:
    """Resize an RGB uint8/float image so its long side is ``size``; float32 RGB in 0..1 back."""
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = np.clip(np.asarray(image, "float32") * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    h, w = image.shape[:2]
    scale = size / max(h, w)
    new_h = max(multiple, int(round(h * scale / multiple)) * multiple)
    new_w = max(multiple, int(round(w * scale / multiple)) * multiple)
    pil = Image.fromarray(image[..., :3]).resize((new_w, new_h), Image.LANCZOS)
    return np.asarray(pil, dtype="float32") / 255.0


def to_uint8(image) -> np.ndarray:
    """A float 0..1 image (optionally batched) as uint8 HxWx3."""
    image = np.asarray(image)
    if image.ndim == 4:
        image = image[0]
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


def read_image(path) -> np.ndarray:
    """An RGB uint8 array from an image file; ValueError with the reason if unreadable."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None
