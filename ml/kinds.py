"""Model kinds, the ML half: for each ``meta.json`` kind, how to load its folder, predict with it,
train or fine-tune one, and evaluate it on labelled images.

A model kind is one plugin, as an MLflow flavor is: one ``ModelKind`` object per kind. This module
holds the built-in ones and their registry; ``register`` adds one at run time (a test's toy kind)
and returns what undoes it. The serving half of a kind (which registry targets it retrains and how
the gate judges them, the worker that warms it, a shipped version 1) lives in the web app
(``webapp.registry.model_kinds``), which cannot be imported from here. Everything that acts on a
model folder by its kind asks its entry; nothing else compares kind names.

One prediction protocol for every kind: ``kind.predict(model, inputs) -> outputs``, where
``model`` is what ``kind.load(folder)`` returned and

- a classifying kind (``classifier``, ``face``) takes a list of RGB uint8 images and answers one
  ``ml.common.prediction.Prediction`` per image;
- a style kind (``adain``, ``cyclegan``, ``arbitrary``, ``preset``) takes an
  ``ml.style.methods.StyleCall`` and answers an ``ml.style.methods.StyleResult``.

Model classes and trainers import TensorFlow, so each is named by a function returning it and
imported on first use: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ml.common import cache, modeldir
from ml.style import methods as style_methods


@dataclass(frozen=True)
class ModelKind:
    """One kind of model folder.

    ``model``: returns the class whose ``load(folder)`` serves it. ``predict(model, inputs)``: the
    one prediction protocol (module docstring). ``train``: returns the function that trains one
    from a config (``train(config, data_dir, out_dir, *, progress, should_stop, seed,
    **overrides)``, what ``python -m ml.train`` runs); None when the kind is never trained from a
    config. ``finetune``: returns the function that fine-tunes a deployed folder on new data;
    None when it cannot be. ``evaluate(model, data_dir_or_samples, split) -> (true labels,
    probabilities, label names)``: for kinds judged on labelled images; None for the others.
    ``method``: for a style kind, the style method (``ml.style.methods``) that paints with its
    folders: its ``render(call, model)`` is the kind's ``predict`` (flipped to the protocol's
    order); registering the kind registers the method too.
    """

    name: str
    model: Callable[[], type]
    predict: Callable[[object, object], object] | None = None
    train: Callable[[], Callable[..., dict]] | None = None
    finetune: Callable[[], Callable[..., dict]] | None = None
    evaluate: Callable[[object, object, str], tuple] | None = None
    takes_overrides: bool = True  # whether ``train`` accepts config overrides as keywords
    method: style_methods.StyleMethod | None = None

    def __post_init__(self) -> None:
        if self.predict is None:  # a style kind predicts as its method paints
            if self.method is None:
                raise ValueError(f"A model kind needs `predict` or a style `method`: {self.name!r}")
            object.__setattr__(self, "predict", _painter(self.method))

    @property
    def trainable(self) -> bool:
        """Whether models of this kind are trained from a config (``python -m ml.train``)."""
        return self.train is not None

    def trainer(self) -> Callable[..., dict]:
        """The function that trains one from a config; ValueError for a kind that is not."""
        if self.train is None:
            how = "fine-tuned from a deployed version" if self.finetune else "converted"
            raise ValueError(
                f"{self.name!r} models are {how} from pretrained networks, not trained from a config"
            )
        return self.train()

    def load(self, model_dir):
        """The model of ``model_dir`` (not cached: ``load`` below serves through the cache)."""
        return self.model().load(model_dir)


# ---------------------------------------------------------------- the classifying kinds


def _classify(model, images) -> list:
    return model.predict_batch(images)


def _evaluate_classifier(clf, data_dir_or_samples, split: str):
    """A trainable classifier on a data folder's ``split`` (its own data settings) or on Samples."""
    from ml.classify import data  # lazy: OpenCV stays out of web workers (they import ml.kinds)
    from ml.classify.evaluate import predict_samples  # lazy: as above

    samples = data_dir_or_samples
    if not isinstance(samples, data.Samples):
        data_cfg = {**clf.config.get("data", {})}
        data_cfg["labels"] = data_cfg.get("labels") or clf.labels
        samples = data.load_samples(samples, data_cfg).split(split)
    if len(samples) == 0:
        raise data.DataError(f"no images in the {split!r} split of the data")
    return (*predict_samples(clf.model, samples, clf.preprocessing), clf.labels)


def _evaluate_face(clf, data_dir_or_samples, split: str):
    """A face model: the face pipeline, then the model, 16 photos at a time (uncalibrated)."""
    from ml.classify import data  # lazy: as in _evaluate_classifier

    samples = data_dir_or_samples
    if not isinstance(samples, data.Samples):
        samples = data.read_folder(samples, clf.labels).split(split)
    if len(samples) == 0:
        raise data.DataError(f"no images in the {split!r} split of the data")
    probs = []
    for start in range(0, len(samples), 16):
        images = [data.load_image(p) for p in samples.paths[start : start + 16]]
        probs.append(clf.outputs(images)[0]["probabilities"])
    names = list(samples.label_names)
    if names != clf.labels:
        raise data.DataError(f"the data's labels {names} are not the model's {clf.labels}")
    return np.asarray(samples.labels), np.concatenate(probs), clf.labels


def _classifier():
    from ml.classify.inference import Classifier  # lazy: imports TensorFlow

    return Classifier


def _classifier_train():
    from ml.classify.train import train  # lazy: imports TensorFlow

    return train


def _face():
    from ml.faces.model import FaceClassifier  # lazy: imports TensorFlow

    return FaceClassifier


def _face_train():
    from ml.faces.train import train  # lazy: imports TensorFlow

    return train


# ---------------------------------------------------------------- the style kinds


def _painter(method: style_methods.StyleMethod) -> Callable[[object, object], object]:
    """A style kind's ``predict(model, call)``: its method's ``render(call, model)``."""

    def predict(model, call):
        return method.render(call, model)

    return predict


def _adain():
    from ml.style.adain import AdaINStylizer  # lazy: imports TensorFlow

    return AdaINStylizer


def _adain_train():
    from ml.style.adain import train  # lazy: imports TensorFlow

    return train


def _cyclegan():
    from ml.style.cyclegan import FixedStyle  # lazy: imports TensorFlow

    return FixedStyle


def _cyclegan_train():
    from ml.style.cyclegan import train  # lazy: imports TensorFlow

    return train


def _arbitrary():
    from ml.style.fast_style import ArbitraryStylizer  # lazy: imports TensorFlow

    return ArbitraryStylizer


def _arbitrary_finetune():
    from ml.style.fast_style_train import finetune_arbitrary  # lazy: imports TensorFlow

    return finetune_arbitrary


def _preset():
    from ml.style.fast_style import PresetStylizer  # lazy: imports TensorFlow

    return PresetStylizer


CLASSIFIER = ModelKind(
    "classifier", _classifier, _classify, train=_classifier_train, evaluate=_evaluate_classifier
)
FACE = ModelKind("face", _face, _classify, train=_face_train, evaluate=_evaluate_face)
ADAIN = ModelKind(
    "adain",
    _adain,
    train=_adain_train,
    takes_overrides=False,
    method=style_methods.ADAIN,
)
CYCLEGAN = ModelKind(
    "cyclegan",
    _cyclegan,
    train=_cyclegan_train,
    takes_overrides=False,
    method=style_methods.FIXED_STYLE,
)
ARBITRARY = ModelKind(
    "arbitrary",
    _arbitrary,
    finetune=_arbitrary_finetune,
    method=style_methods.ARBITRARY,
)
PRESET = ModelKind("preset", _preset, method=style_methods.PRESET)

# The registration: every built-in model kind.
KINDS: dict[str, ModelKind] = {
    k.name: k for k in (CLASSIFIER, FACE, ADAIN, CYCLEGAN, ARBITRARY, PRESET)
}


def register(kind: ModelKind) -> Callable[[], None]:
    """Add ``kind`` (and its style method) at run time; returns what removes them. The same object
    again (a built-in kind, or a second registration) is a no-op, and so is its undo."""
    if kind.name in KINDS:
        if KINDS[kind.name] is not kind:
            raise ValueError(f"A model kind {kind.name!r} exists already. Received: {kind}")
        return lambda: None
    undo_method = style_methods.register(kind.method) if kind.method else (lambda: None)
    KINDS[kind.name] = kind

    def undo() -> None:
        KINDS.pop(kind.name, None)
        undo_method()

    return undo


def get(kind: str) -> ModelKind:
    """The registered kind ``kind``, or ValueError naming the known ones."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {tuple(KINDS)}. Received: kind={kind!r}")
    return KINDS[kind]


def kind_of(model_dir) -> str:
    """The kind ``model_dir``'s meta.json names (ModelDirError if it is not a model folder of a
    registered kind)."""
    kind = modeldir.read_meta(model_dir)["kind"]
    if kind not in KINDS:
        raise modeldir.ModelDirError(
            f"{Path(model_dir) / modeldir.META_FILE} does not name a known model kind {tuple(KINDS)}"
        )
    return kind


def load(model_dir, expect: tuple[str, ...] | None = None, key: str | None = None):
    """The model of ``model_dir`` by its kind, loaded once per process (``ml.common.cache``).

    ``expect``: the kinds the caller can use; another kind is a ValueError naming what it holds.
    ``key``: what names the folder's content in the cache (a sha256), when not its path.
    """
    kind = kind_of(model_dir)
    if expect is not None and kind not in expect:
        raise ValueError(
            f"{model_dir} holds a {kind!r} model, not one of {expect}. Received: model_dir={str(model_dir)!r}"
        )
    return cache.cached(Path(model_dir), get(kind).load, key=key)
