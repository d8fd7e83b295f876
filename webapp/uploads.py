"""Validation of uploaded images: JPEG, PNG and WebP only, re-encoded without metadata."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image as PILImage
from PIL import ImageOps, PngImagePlugin

from webapp.exceptions import Invalid

ALLOWED = ("JPEG", "PNG", "WEBP")
ACCEPTED_TEXT = "JPEG, PNG or WebP"
# PNG text chunks are inflated while the header is read: keep what one upload may inflate small
# (Pillow's defaults allow 1 MB per chunk and 64 MB in all; a photo needs none of it).
PngImagePlugin.MAX_TEXT_CHUNK = 256 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What an upload may cost to decode: checked from the header, before a pixel is decoded."""

    max_pixels: int = 16_000_000
    max_side: int = 12_000
    max_aspect: float = 10.0


@dataclass(frozen=True)
class ValidImage:
    """An upload that passed validation: clean re-encoded bytes and their facts."""

    data: bytes
    format: str  # "jpeg" | "png" | "webp"
    width: int
    height: int
    sha256: str

    @property
    def extension(self) -> str:
        return "jpg" if self.format == "jpeg" else self.format

    def to_array(self, max_side: int | None = None) -> np.ndarray:
        """RGB uint8 pixels; with ``max_side``, a big JPEG decoded at reduced size (long side still
        at least ``max_side``): scale boxes found in it by ``self.width / pixels.shape[1]``."""
        if max_side:
            from ml.common.images import decode_reduced

            return decode_reduced(self.data, max_side)[0]
        with PILImage.open(io.BytesIO(self.data)) as im:
            return np.asarray(im.convert("RGB"))


def _open(data: bytes, name: str) -> PILImage.Image:
    """Open with the format allow-list; refuse anything else with a clear reason."""
    try:
        return PILImage.open(io.BytesIO(data), formats=ALLOWED)
    except PILImage.DecompressionBombError:
        raise Invalid(
            f"{name}: the image claims far too many pixels (a decompression bomb); "
            "send a normal photo."
        ) from None
    except Exception:
        raise Invalid(
            f"{name}: not a {ACCEPTED_TEXT} image (or the file is damaged). "
            f"Send a {ACCEPTED_TEXT} file."
        ) from None


def check_size(width: int, height: int, name: str, limits: Limits) -> None:
    """Refuse, from the header's size alone, a picture too large, too long on a side or too thin."""
    if width < 1 or height < 1:
        raise Invalid(f"{name}: {width}x{height} pixels is not a picture; send a photo.")
    if width * height > limits.max_pixels:
        raise Invalid(
            f"{name}: {width}x{height} pixels is too large "
            f"(at most {limits.max_pixels / 1_000_000:g} megapixels); send a smaller image."
        )
    if max(width, height) > limits.max_side:
        raise Invalid(
            f"{name}: {width}x{height} pixels is too long: each side may be at most "
            f"{limits.max_side} pixels; resize it."
        )
    if max(width, height) > limits.max_aspect * min(width, height):
        raise Invalid(
            f"{name}: {width}x{height} pixels is too long and thin: the longer side may be at "
            f"most {limits.max_aspect:g} times the shorter; crop it to a photo's shape."
        )


def _decode(im: PILImage.Image, name: str, limits: Limits) -> PILImage.Image:
    """Decode the first frame fully, refusing bombs and truncated files."""
    check_size(*im.size, name, limits)  # PIL opened lazily: nothing is decoded yet
    try:
        im.seek(0)
        im.load()
    except Exception:
        raise Invalid(
            f"{name}: the image data is truncated or corrupt; "
            "save it again from a photo app and retry."
        ) from None
    return im


def _orient(im: PILImage.Image) -> PILImage.Image:
    """Apply EXIF orientation; broken EXIF is ignored rather than fatal."""
    try:
        return ImageOps.exif_transpose(im) or im
    except Exception:
        return im


def _reencode(im: PILImage.Image, fmt: str) -> bytes:
    """Pixels only, in the upload's format: no EXIF, GPS, ICC or text chunks survive."""
    if im.mode not in ("RGB", "RGBA", "L") or (fmt == "JPEG" and im.mode == "RGBA"):
        im = im.convert("RGBA" if fmt != "JPEG" and "A" in im.getbands() else "RGB")
    clean = PILImage.new(im.mode, im.size)
    clean.paste(im)
    out = io.BytesIO()
    options = {"JPEG": {"quality": 92}, "PNG": {"optimize": False}, "WEBP": {"quality": 92}}[fmt]
    clean.save(out, format=fmt, **options)
    return out.getvalue()


def validate_image(
    data: bytes,
    *,
    name: str = "image",
    max_pixels: int = 40_000_000,
    limits: Limits | None = None,
) -> ValidImage:
    """Check `data` is an acceptable image; return it re-encoded, oriented and stripped."""
    limits = limits or Limits(max_pixels=max_pixels, max_side=max_pixels, max_aspect=max_pixels)
    if not data:
        raise Invalid(f"{name}: the file is empty. Send a {ACCEPTED_TEXT} image.")
    with warnings.catch_warnings():
        # Pillow warns about odd-but-readable files (bad APNG frame counts, EXIF): not errors.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        return _validate(data, name, limits)


def _validate(data: bytes, name: str, limits: Limits) -> ValidImage:
    with _open(data, name) as im:
        fmt = im.format
        decoded = _decode(im, name, limits)
        try:
            upright = _orient(decoded)
            clean = _reencode(upright, fmt)
        except Exception:
            raise Invalid(
                f"{name}: the image could not be processed; "
                "save it again from a photo app and retry."
            ) from None
    width, height = upright.size
    return ValidImage(clean, fmt.lower(), width, height, hashlib.sha256(clean).hexdigest())


def read_upload(
    files, field: str, *, max_pixels: int, required: bool = True, limits: Limits | None = None
) -> ValidImage | None:
    """Validate the multipart file in `field`; None when optional and absent."""
    storage = files.get(field)
    if storage is None or not storage.filename and not storage.content_length:
        if required:
            raise Invalid(
                f"Missing image: send a {ACCEPTED_TEXT} file in the form field '{field}'."
            )
        return None
    return validate_image(storage.read(), name=field, max_pixels=max_pixels, limits=limits)
