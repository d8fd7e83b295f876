"""Image arrays every part of ml/ reads, resizes and writes the same way."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, UnidentifiedImageError


def resize_long_side(image: np.ndarray, size: int, multiple: int = 1) -> np.ndarray:
    """Resize an RGB uint8/float image so its long side is ``size``; float32 RGB in 0..1 back."""
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
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as exc:
        raise ValueError(f"cannot read image {path}: {exc}") from None


def decode_reduced(source, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """RGB uint8 pixels of an image file or bytes, and the scale from the photo's pixels to them.

    With ``max_side``, a JPEG is decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's DCT scaling,
    Pillow's ``draft``) as long as its long side stays at least ``max_side``: a 12 MP photo costs
    about a third of a full decode. A box ``b`` found in the pixels is ``b / scale`` in the photo.
    EXIF orientation is not applied here (``webapp.uploads`` stores photos already upright).
    """
    if isinstance(source, bytes | bytearray):
        source = io.BytesIO(source)
    with Image.open(source) as im:
        width = im.size[0]
        if max_side and im.format == "JPEG" and max(im.size) > max_side:
            long = max(im.size)
            im.draft("RGB", (-(-im.size[0] * max_side // long), -(-im.size[1] * max_side // long)))
        pixels = np.asarray(im.convert("RGB"))
    return pixels, pixels.shape[1] / width
