"""Every face in a photo, turned faces, tight crops and no faces: the face pipeline as a user meets it."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data as skdata

from ml.faces import align
from ml.faces import model as fm


@pytest.fixture(scope="module")
def gender(tmp_path_factory):
    return fm.FaceClassifier.load(fm.pretrained_task_dir("gender", tmp_path_factory.mktemp("c")))


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
    assert np.allclose(answer.face_box, expected, atol=3), (answer.face_box, expected)
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
    assert out["probabilities"][0] == pytest.approx(list(main.probabilities.values()), abs=1e-5)
