"""Every face of a photo: the answers stored per face, and the chip a label about one face trains on.

A face model answers each face it finds (largest first, index 0 is the main face the top-level
answer describes). On a face task a photo without a face gets no answer (label null): the
network's reading of a coffee cup is not an answer about a face. Photo tasks read the whole photo
and have no faces.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image as PILImage

from webapp.storage.store import load_pixels
from webapp.tables import Classification
from webapp.uploads import ValidImage, validate_image

CHIP_MARGIN = 0.4  # of the box's size on each side: the training pipeline finds the face again
CHIP_MIN_SIDE = 96  # px; smaller chips are enlarged so the detector can see the face


def _rounded(probs: dict) -> dict[str, float]:
    return {k: float(v) for k, v in probs.items()}


def _box(box) -> list[int] | None:
    return None if box is None else [int(v) for v in box]


def answer_of(prediction, index: int) -> dict:
    """One face's stored answer."""
    out = {
        "index": index,
        "face_box": _box(prediction.face_box),
        "rotation": int(getattr(prediction, "rotation", 0) or 0),
        "label": prediction.label,
        "probability": float(prediction.probability),
        "probabilities": _rounded(prediction.probabilities),
    }
    years = getattr(prediction, "age_years", None)
    if years is not None:
        out["age_years"] = round(float(years), 1)
    return out


def answers(prediction) -> list[dict] | None:
    """Per-face answers of a prediction; None for a photo model (it reads the whole photo)."""
    if getattr(prediction, "face_found", None) is None:
        return None
    if not prediction.face_found:
        return []
    faces = tuple(getattr(prediction, "faces", ()) or ())
    return [answer_of(p, i) for i, p in enumerate(faces or (prediction,))]


def listed(row: Classification) -> list[dict]:
    """The API's `faces` of a classification (old rows: the one face their columns describe)."""
    if row.faces is not None:
        return row.faces
    if not row.face_found or row.label is None:
        return []
    probs = row.probabilities or {}
    one = {
        "index": 0,
        "face_box": row.face_box,
        "rotation": 0,
        "label": row.label,
        "probability": probs.get(row.label),
        "probabilities": probs,
    }
    return [one | ({"age_years": row.age_years} if row.age_years is not None else {})]


def find(row: Classification, index: int) -> dict | None:
    """Face `index` of a classification, or None when it has no such face."""
    faces = listed(row)
    return faces[index] if 0 <= index < len(faces) else None


def needs_chip(row: Classification, face: dict | None) -> bool:
    """A label about a face that the training pipeline would not find as the photo's main upright
    face trains on that face's own chip."""
    return face is not None and (face["index"] > 0 or bool(face.get("rotation")))


def upright(pixels: np.ndarray, rotation: int) -> np.ndarray:
    """`pixels` turned by `rotation` degrees counter-clockwise (how the face was made upright)."""
    turns = (int(rotation) // 90) % 4
    return np.ascontiguousarray(np.rot90(pixels, turns)) if turns else pixels


def cut(pixels: np.ndarray, box, rotation: int = 0) -> np.ndarray:
    """The face in `box` (photo coordinates) with a margin, upright."""
    x, y, w, h = (int(v) for v in box)
    height, width = pixels.shape[:2]
    mx, my = int(CHIP_MARGIN * w), int(CHIP_MARGIN * h)
    x0, y0 = max(0, x - mx), max(0, y - my)
    x1, y1 = min(width, x + w + mx), min(height, y + h + my)
    chip = upright(pixels[y0:y1, x0:x1], rotation)
    short = min(chip.shape[:2])
    if 0 < short < CHIP_MIN_SIDE:
        scale = CHIP_MIN_SIDE / short
        size = (round(chip.shape[1] * scale), round(chip.shape[0] * scale))
        chip = np.asarray(PILImage.fromarray(chip).resize(size, PILImage.BICUBIC))
    return chip


def chip_upload(row: Classification, face: dict) -> ValidImage:
    """The chip of one face of a classified photo, as an image to store (same face, same bytes)."""
    chip = cut(load_pixels(row.image.storage_key), face["face_box"], face.get("rotation", 0))
    out = io.BytesIO()
    PILImage.fromarray(chip).save(out, format="PNG")
    return validate_image(out.getvalue(), name="face chip")
