"""The registry of model kinds: for each ``meta.json`` kind, how to load its folder and how to train one.

Everything that must act on a model folder by its kind asks here (``load``, ``trainer``); adding a
kind is its module plus one entry in ``KINDS``. Loaders and trainers are imported on first use,
so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ml.common import cache, modeldir


@dataclass(frozen=True)
class ModelKind:
    """One kind of model folder: ``model`` (the class whose ``load(folder)`` serves it) and
    ``train`` (``train(config, data_dir, out_dir, *, progress, should_stop, seed, **overrides)``),
    each given as a function returning it, so its module is imported only when needed."""

    name: str
    model: Callable[[], type]
    train: Callable[[], Callable[..., dict]]
    takes_overrides: bool = True  # whether ``train`` accepts config overrides as keywords


def _classifier():
    from ml.classify.inference import Classifier

    return Classifier


def _classifier_train():
    from ml.classify.train import train

    return train


def _face():
    from ml.faces.model import FaceClassifier

    return FaceClassifier


def _face_train():
    from ml.faces.train import train

    return train


def _adain():
    from ml.style.adain import AdaINStylizer

    return AdaINStylizer


def _adain_train():
    from ml.style.adain import train

    return train


def _cyclegan():
    from ml.style.cyclegan import FixedStyle

    return FixedStyle


def _cyclegan_train():
    from ml.style.cyclegan import train

    return train


def _arbitrary():
    from ml.style.fast_style import ArbitraryStylizer

    return ArbitraryStylizer


def _preset():
    from ml.style.fast_style import PresetStylizer

    return PresetStylizer


def _finetune():
    from ml.style.fast_style_train import finetune_arbitrary

    return finetune_arbitrary


def _not_trainable(kind: str):
    def trainer(*args, **kwargs):
        raise ValueError(f"{kind!r} models are converted from pretrained networks, not trained")

    return lambda: trainer


KINDS: dict[str, ModelKind] = {
    k.name: k
    for k in (
        ModelKind("classifier", _classifier, _classifier_train),
        ModelKind("face", _face, _face_train),
        ModelKind("adain", _adain, _adain_train, takes_overrides=False),
        ModelKind("cyclegan", _cyclegan, _cyclegan_train, takes_overrides=False),
        ModelKind("arbitrary", _arbitrary, _not_trainable("arbitrary")),
        ModelKind("preset", _preset, _not_trainable("preset")),
    )
}
assert tuple(KINDS) == modeldir.KINDS, "ml.common.modeldir.KINDS and ml.kinds.KINDS must agree"


def get(kind: str) -> ModelKind:
    """The registered kind ``kind``, or ValueError naming the known ones."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {tuple(KINDS)}. Received: kind={kind!r}")
    return KINDS[kind]


def kind_of(model_dir) -> str:
    """The kind ``model_dir``'s meta.json names (ModelDirError if it is not a model folder)."""
    return modeldir.read_meta(model_dir)["kind"]


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
    return cache.cached(Path(model_dir), get(kind).model().load, key=key)


def for_method(method) -> ModelKind | None:
    """The kind of folder a style method (``ml.style.methods``) runs, whose trainer retrains it;
    None for a method without a model (``nst``)."""
    return get(method.model_kind) if method.model_kind else None
