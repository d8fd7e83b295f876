"""The classifier's building blocks that models and trainers share: input normalisation, backbones, compiling.

``classifier`` builds whole models from them and ``features`` its cached-feature heads; neither
imports the other for these.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from ml.common import backbones

NORMALIZATION = {
    "vgg16": "caffe",
    "vgg19": "caffe",
    "inceptionv3": "symmetric",
    "mobilenetv2": "symmetric",
    "efficientnetb0": "none",
}
APPLICATIONS = {
    "vgg19": "VGG19",
    "inceptionv3": "InceptionV3",
    "efficientnetb0": "EfficientNetB0",
    "mobilenetv2": "MobileNetV2",
}


@keras.saving.register_keras_serializable(package="celebvision")
class Normalize(keras.layers.Layer):
    """Map RGB 0..255 inputs to what a network expects (``unit``, ``symmetric``, ``caffe``, ``none``)."""

    MODES = ("unit", "symmetric", "caffe", "none")

    def __init__(self, mode: str = "unit", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, x):
        if self.mode == "unit":
            return x / 255.0
        if self.mode == "symmetric":
            return x / 127.5 - 1.0
        if self.mode == "caffe":
            return keras.ops.flip(x, axis=-1) - keras.ops.convert_to_tensor(
                [103.939, 116.779, 123.68]
            )
        return x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def load_backbone(name: str, weights, input_shape: tuple) -> keras.Model:
    """Return a fresh, trainable-copy backbone without its top (``weights``: hed, imagenet, None or a path)."""
    name = name.lower()
    if name == "vgg16":
        shared = backbones.vgg16(weights=weights, input_shape=input_shape, include_top=False)
        model = keras.models.clone_model(shared)
        model.set_weights(shared.get_weights())
        return model
    if name not in APPLICATIONS:
        raise ValueError(
            f"backbone must be one of {['vgg16', *APPLICATIONS]}. Received: backbone={name!r}"
        )
    if weights not in (None, "imagenet") and not Path(str(weights)).is_file():
        raise ValueError(
            f"weights must be 'imagenet', None or a weights file. Received: weights={weights!r}"
        )
    app = getattr(keras.applications, APPLICATIONS[name])
    return app(
        include_top=False,
        weights=None if weights is None else str(weights),
        input_shape=input_shape,
    )


def compile_model(model: keras.Model, learning_rate: float, optimizer: str = "adam") -> None:
    """Compile with sparse categorical cross-entropy and accuracy."""
    opt = keras.optimizers.get(optimizer)
    opt.learning_rate = float(learning_rate)
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def class_weights(labels, n_classes: int, setting) -> dict[int, float] | None:
    """Return Keras class weights: ``balanced`` (inverse frequency), a {label index: w} dict, or None."""
    if not setting:
        return None
    if isinstance(setting, dict):
        return {int(k): float(v) for k, v in setting.items()}
    if setting != "balanced":
        raise ValueError(
            f"class_weight must be balanced, a mapping or null. Received: class_weight={setting!r}"
        )
    counts = np.bincount(labels, minlength=n_classes)
    return {c: float(len(labels) / (n_classes * n)) for c, n in enumerate(counts) if n}


def frozen_backbone(model_cfg: dict, input_shape: tuple) -> keras.Model:
    """The ``model`` section's backbone, cut at its ``output_layer`` when one is named, frozen."""
    backbone = load_backbone(model_cfg["backbone"], model_cfg["weights"], input_shape)
    if model_cfg["output_layer"]:
        backbone = keras.Model(
            backbone.inputs,
            backbone.get_layer(model_cfg["output_layer"]).output,
            name=backbone.name,
        )
    backbone.trainable = False
    return backbone
