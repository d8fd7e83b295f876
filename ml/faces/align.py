"""The face pipeline shared by training and serving: find the face, five landmarks, aligned chips.

Each pretrained face network was trained on faces cut a particular way, and answers best on
faces cut the same way. The dlib networks (gender, age) were trained on chips cut by dlib's
``get_face_chip_details`` from five landmarks with its default padding (0.2), so that is how
their chips are cut here (the wheel's manifest records it). The expression network was trained
on FER-2013 faces: a detector box with a margin, grey; its chip is the same aligned cut, in grey.

Detection: dlib's HOG frontal face detector on a copy whose long side is at most
``DETECT_LONG_SIDE`` px, looking again at twice the size when a small picture shows no face
(HOG needs faces of about 80 px). Measured against scikit-image's LBP cascade in
``bench/faces.py``: see docs/faces.md for the figures and why. Several faces: the largest. No face: the whole picture
is taken as the face box (landmarks are still fitted inside it, which suits tight face crops),
and the result says ``found=False``.
"""

from __future__ import annotations

import dataclasses
import threading

import cv2
import numpy as np

from ml.faces import check_rgb, downscaled
from ml.faces import detect_face as detect_lbp
from ml.faces.wheels import landmark_model_path

DETECT_LONG_SIDE = 320
UPSAMPLE_BELOW = 400
DETECTORS = ("hog", "lbp")
_local = threading.local()


@dataclasses.dataclass(frozen=True)
class ChipSpec:
    """How one network's input is cut: side in px, dlib padding, grey or RGB."""

    size: int
    padding: float = 0.2
    grey: bool = False

    def __post_init__(self):
        if not 8 <= int(self.size) <= 512:
            raise ValueError(f"size must be in 8..512. Received: size={self.size}")
        if not 0 <= float(self.padding) <= 2:
            raise ValueError(f"padding must be in 0..2. Received: padding={self.padding}")

    def as_dict(self) -> dict:
        return {"size": int(self.size), "padding": float(self.padding), "grey": bool(self.grey)}


@dataclasses.dataclass
class Face:
    """The face a pipeline found (or the whole picture standing in for it) and its landmarks."""

    box: tuple[int, int, int, int]  # x, y, w, h in the picture's pixels
    found: bool
    shape: object  # dlib.full_object_detection: the five landmarks


def _dlib():
    """This thread's dlib detector and landmark predictor (built once per thread)."""
    if not hasattr(_local, "predictor"):
        import dlib

        _local.detector = dlib.get_frontal_face_detector()
        _local.predictor = dlib.shape_predictor(str(landmark_model_path()))
    return _local.detector, _local.predictor


def detect_hog(image: np.ndarray, long_side: int = DETECT_LONG_SIDE):
    """The largest face dlib's HOG detector finds, as ``(x, y, w, h)`` in ``image`` pixels, or None."""
    detector, _ = _dlib()
    small, scale = downscaled(image, long_side)
    small = np.ascontiguousarray(small)
    found = detector(small, 0)
    if len(found) == 0 and max(small.shape[:2]) <= UPSAMPLE_BELOW:
        found = detector(small, 1)  # HOG needs ~80 px faces: look again at twice the size
    if len(found) == 0:
        return None
    best = max(found, key=lambda r: r.width() * r.height())
    x0, y0 = max(0, best.left()), max(0, best.top())
    x1, y1 = min(small.shape[1], best.right() + 1), min(small.shape[0], best.bottom() + 1)
    return tuple(int(round(v / scale)) for v in (x0, y0, x1 - x0, y1 - y0))


def detect(image, detector: str = "hog"):
    """The largest face box by ``detector`` ("hog" or "lbp"), or None."""
    image = check_rgb(image)
    if detector == "hog":
        return detect_hog(image)
    if detector == "lbp":
        return detect_lbp(image)
    raise ValueError(f"detector must be one of {DETECTORS}. Received: detector={detector!r}")


def find_face(image, detector: str = "hog", box=None) -> Face:
    """Detect (unless ``box`` is given) and fit the five landmarks; the whole picture when no face is found."""
    import dlib

    image = check_rgb(image)
    found = box is not None or (box := detect(image, detector)) is not None
    if not found:
        box = (0, 0, image.shape[1], image.shape[0])
    x, y, w, h = (int(v) for v in box)
    _, predictor = _dlib()
    shape = predictor(image, dlib.rectangle(x, y, x + max(1, w) - 1, y + max(1, h) - 1))
    return Face(box=(x, y, w, h), found=found, shape=shape)


def cut_chip(image: np.ndarray, face: Face, spec: ChipSpec) -> np.ndarray:
    """The aligned chip of ``face`` for one network: (size, size, 3) RGB or (size, size, 1) grey, uint8."""
    import dlib

    details = dlib.get_face_chip_details(face.shape, int(spec.size), float(spec.padding))
    chip = np.asarray(dlib.extract_image_chip(np.ascontiguousarray(image), details), dtype=np.uint8)
    if spec.grey:
        return cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)[..., None]
    return chip


def chips(image, specs: dict[str, ChipSpec], detector: str = "hog", box=None) -> tuple[dict, Face]:
    """Every network's chip of the face in ``image`` (one detection, one landmark fit), and the face."""
    image = check_rgb(image)
    face = find_face(image, detector, box)
    return {name: cut_chip(image, face, spec) for name, spec in specs.items()}, face
