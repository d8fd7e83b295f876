"""Every face in a photo, turned faces, tight crops and no faces: the face pipeline as a user meets it."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from ml.common.calibration import soften
from ml.faces import align
from ml.faces import model as fm


@pytest.fixture(scope="module")
def gender(tmp_path_factory):
    return fm.FaceClassifier.load(fm.pretrained_task_dir("gender", tmp_path_factory.mktemp("c")))


def iou(a, b) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def astronaut_box():
    [(box, rotation)] = align.detect_all(skdata.astronaut())
    assert rotation == 0
    return box


@pytest.mark.parametrize("turn", [1, 2, 3])
def test_box_maps_to_the_upright_picture_and_back(turn):
    photo = np.zeros((40, 60, 3), np.uint8)
    box = (5, 7, 11, 13)
    rotation = (360 - 90 * turn) % 360  # photo = rot90(upright, turn): turning it back uprights it
    upright_shape = np.rot90(photo, -turn).shape
    there = align.box_to_upright(box, rotation, photo.shape)
    assert align.box_to_photo(there, rotation, photo.shape) == box
    assert upright_shape[:2] == align.upright(photo, rotation).shape[:2]


@pytest.mark.parametrize("turn", [1, 3])
def test_a_turned_face_is_found_with_its_box_in_the_photos_pixels(gender, turn):
    photo = np.ascontiguousarray(np.rot90(skdata.astronaut(), turn))
    answer = gender.predict(photo)
    assert answer.face_found and len(answer.faces) == 1
    assert answer.rotation == (360 - 90 * turn) % 360
    x, y, w, h = astronaut_box()
    expected = align.box_to_photo((x, y, w, h), answer.rotation, photo.shape)
    assert iou(answer.face_box, expected) > 0.75, (answer.face_box, expected)
    assert answer.label == "female"


@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_no_face_gives_no_faces(gender, name):
    answer = gender.predict(getattr(skdata, name)())
    assert answer.face_found is False and answer.faces == () and answer.face_box is None
    assert set(answer.probabilities) == {"female", "male"}  # the whole picture, still read


def test_main_face_is_faces_zero(gender):
    answer = gender.predict(skdata.astronaut())
    assert answer.face_found and answer.faces[0].face_box == answer.face_box
    assert answer.faces[0].label == answer.label and answer.faces[0].faces == ()


def test_outputs_reads_the_face_a_user_labelled(gender):
    photo = np.ascontiguousarray(np.rot90(skdata.astronaut(), 1))
    main = gender.predict(photo)
    out, faces = gender.outputs([photo], boxes=[main.face_box], rotations=[main.rotation])
    assert faces[0].rotation == main.rotation and faces[0].box == main.face_box
    shown = soften(out["probabilities"], gender.meta["calibration"]["temperature"])[0]
    assert shown == pytest.approx(list(main.probabilities.values()), abs=1e-5)


def test_reduced_decode_finds_the_same_face(gender, tmp_path):
    """A big JPEG decoded at a quarter of its size: the same box, in the photo's own pixels."""
    import cv2
    from PIL import Image

    from ml.common.images import decode_reduced

    big = cv2.resize(skdata.astronaut(), (2048, 2048), interpolation=cv2.INTER_CUBIC)
    path = tmp_path / "big.jpg"
    Image.fromarray(big).save(path, quality=92)
    full, one = decode_reduced(path)
    small, scale = decode_reduced(path, max_side=512)
    assert one == 1.0 and small.shape == (512, 512, 3) and scale == 0.25
    expected = gender.predict(full)
    answer = gender.predict(small).scaled(1 / scale)
    assert iou(answer.face_box, expected.face_box) > 0.8, (answer.face_box, expected.face_box)
    assert answer.faces[0].face_box == answer.face_box


def group_photo(n_faces: int = 6) -> tuple[np.ndarray, list[tuple]]:
    """A grey canvas of real faces in a row, sizes falling left to right: the astronaut's head
    first (biggest), then LFW faces. Returns the picture and each face's true box, largest first."""
    import cv2

    astro = skdata.astronaut()[40:260, 130:320]
    faces = [cv2.resize(astro, (342, 396))]
    for i, g in enumerate((skdata.lfw_subset()[: n_faces - 1] * 255).astype(np.uint8)):
        side = 130 - 5 * i
        faces.append(
            np.repeat(cv2.resize(g, (side, side), interpolation=cv2.INTER_CUBIC)[..., None], 3, 2)
        )
    canvas = np.full((500, 60 + sum(f.shape[1] + 50 for f in faces), 3), 128, np.uint8)
    boxes, x = [], 40
    for face in faces:
        h, w = face.shape[:2]
        canvas[50 : 50 + h, x : x + w] = face
        boxes.append((x, 50, w, h))
        x += w + 50
    return canvas, boxes


def _tile(box, truth):
    """The index of the true face whose tile holds ``box``'s centre, or None."""
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    inside = [i for i, (x, y, w, h) in enumerate(truth) if x <= cx <= x + w and y <= cy <= y + h]
    return inside[0] if inside else None


def test_a_group_photo_answers_every_face_largest_first(gender):
    photo, truth = group_photo()
    answer = gender.predict(photo)
    boxes = [f.face_box for f in answer.faces]
    assert len(boxes) >= 5 and answer.face_box == boxes[0]
    areas = [w * h for _, _, w, h in boxes]
    assert areas == sorted(areas, reverse=True)
    # each face reported is centred on its own real face, and the main one is the astronaut
    tiles = [_tile(box, truth) for box in boxes]
    assert None not in tiles and len(set(tiles)) == len(tiles) and tiles[0] == 0, tiles
    assert all(f.face_found and f.label in ("female", "male") for f in answer.faces)


def test_a_retrain_reads_the_chip_each_face_was_answered_on(gender):
    """Every face of a group, read again by its box (as training does), gives the served answer."""
    photo, _ = group_photo()
    answer = gender.predict(photo)
    boxes = [f.face_box for f in answer.faces]
    out, _ = gender.outputs([photo] * len(boxes), boxes=boxes, rotations=[0] * len(boxes))
    shown = soften(out["probabilities"], gender.meta["calibration"]["temperature"])
    for face, probs in zip(answer.faces, shown):
        assert probs == pytest.approx(list(face.probabilities.values()), abs=1e-5)


def test_a_tight_crop_is_a_face_as_big_as_the_picture(gender):
    x, y, w, h = astronaut_box()
    crop = np.ascontiguousarray(skdata.astronaut()[y + 12 : y + h - 6, x + 10 : x + w - 10])
    answer = gender.predict(crop)
    assert answer.face_found and answer.face_box == (0, 0, crop.shape[1], crop.shape[0])
    out, _ = gender.outputs([crop], boxes=[answer.face_box])
    shown = soften(out["probabilities"], gender.meta["calibration"]["temperature"])[0]
    assert shown == pytest.approx(list(answer.probabilities.values()), abs=1e-5)


def test_small_faces_of_a_group_taken_from_afar_are_found():
    """Faces under HOG's ~80 px at the detection size (two people 3.75 % of a 2400 px photo wide)
    are found on a zoomed copy; the suit is not a face."""
    face = skdata.astronaut()
    photo = np.full((1200, 2400, 3), 90, np.uint8)
    photo[100:612, 100:612] = face
    photo[100:612, 1500:2012] = face[:, ::-1]
    x, y, w, h = astronaut_box()
    truth = [(100 + x, 100 + y, w, h), (1500 + 512 - x - w, 100 + y, w, h)]
    found = [box for box, rotation in align.detect_all(photo)]
    assert len(found) == 2, found
    for box in truth:
        assert max(iou(box, f) for f in found) >= 0.5, (box, found)


def test_small_faces_beside_a_big_one_are_found_in_a_big_photo():
    """A 2400 px photo (the size of a phone's, decoded for detection) with one face close up and
    two people far away: all three are found, not only the big one."""
    import cv2

    x, y, w, h = astronaut_box()
    near = cv2.resize(skdata.astronaut()[:400, 80:400], (960, 1200), interpolation=cv2.INTER_CUBIC)
    photo = np.full((1200, 2400, 3), 90, np.uint8)
    photo[:, :960] = near
    photo[400:912, 1100:1612] = skdata.astronaut()
    photo[400:912, 1800:2312] = skdata.astronaut()[:, ::-1]
    truth = [
        ((x - 80) * 3, y * 3, w * 3, h * 3),
        (1100 + x, 400 + y, w, h),
        (1800 + 512 - x - w, 400 + y, w, h),
    ]
    found = [box for box, rotation in align.detect_all(photo)]
    assert len(found) == 3, found
    for box in truth:
        assert max(iou(box, f) for f in found) >= 0.5, (box, found)
    assert iou(found[0], truth[0]) >= 0.5  # the close-up is the main face
