"""Classifier configs and models: a configurable custom CNN and transfer learning on a backbone.

Models take RGB float images in 0..255 and normalise inside (a ``Normalize`` layer), so the
saved ``model.keras`` needs no outside preprocessing beyond the resize and face crop of
``ml.classify.data.prepare_image``. The output is a softmax over the task's labels.
"""

from __future__ import annotations

import copy
from pathlib import Path

import keras
import numpy as np
import yaml

from ml.classify import data, features
from ml.classify.blocks import (
    NORMALIZATION,
    Normalize,
    frozen_backbone,
)

MODEL_DEFAULTS = {
    "type": "custom_cnn",
    "filters": [16, 32, 64],
    "convs_per_block": 1,
    "kernel_size": 3,
    "activation": "relu",
    "batchnorm": True,
    "batchnorm_momentum": 0.9,
    "dropout": 0.1,
    "l2": 0.0,
    "pooling": "flatten",
    "dense": [64],
    "dense_dropout": 0.3,
    "backbone": "vgg16",
    "weights": "hed",
    "output_layer": None,
    "fine_tune_layers": 0,
}
TRAINING_DEFAULTS = {
    "epochs": 5,
    "frozen_epochs": 0,
    "batch_size": 32,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "fine_tune_learning_rate": 1e-5,
    "lr_schedule": None,
    "early_stopping": None,
    "class_weight": "balanced",
    "warmup_epochs": 0,
    "average_epochs": 0,
    "min_steps_per_epoch": 0,
}
SECTIONS = {
    "data": data.DATA_DEFAULTS,
    "preprocessing": data.PREPROCESSING_DEFAULTS,
    "augmentation": {},
    "model": MODEL_DEFAULTS,
    "training": TRAINING_DEFAULTS,
}


CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"


def read_yaml(path) -> dict:
    """Read a YAML config file, following its ``base:`` (a config it extends) recursively."""
    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"config {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(config, dict):
        raise ValueError(f"A config must be a mapping. Received: config={config!r} from {path}")
    return resolve_base(config, path.parent)


def resolve_base(config: dict, folder: Path) -> dict:
    """Merge ``config`` over the config its ``base:`` names (sections merged key by key)."""
    if not config.get("base"):
        return config
    base = read_yaml(folder / config["base"])
    merged = {**base, **{k: v for k, v in config.items() if k != "base"}}
    for section in SECTIONS:
        if isinstance(base.get(section), dict) and isinstance(config.get(section), dict):
            merged[section] = {**base[section], **config[section]}
    return merged


def load_config(config) -> dict:
    """Return a full classifier config from a dict or a YAML path, defaults filled in."""
    if isinstance(config, (str, Path)):
        config = read_yaml(config)
    if not isinstance(config, dict):
        raise ValueError(f"A config must be a mapping. Received: config={config!r}")
    full = {
        "kind": "classifier",
        "name": "classifier",
        **resolve_base(copy.deepcopy(config), CONFIG_DIR),
    }
    for section, defaults in SECTIONS.items():
        given = full.get(section) or {}
        if not isinstance(given, dict):
            raise ValueError(
                f"config section {section!r} must be a mapping. Received: {section}={given!r}"
            )
        full[section] = {**defaults, **given}
    return full


def apply_overrides(config: dict, overrides: dict) -> dict:
    """Return ``config`` with ``{"epochs": 3}`` or ``{"training.epochs": 3}`` style overrides applied."""
    config = copy.deepcopy(config)
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        if not section:
            found = [s for s in SECTIONS if name in config.get(s, {})]
            if len(found) != 1:
                raise ValueError(f"Unknown or ambiguous config key. Received: {key}={value!r}")
            section = found[0]
        if section not in SECTIONS:
            raise ValueError(f"Unknown config section. Received: {key}={value!r}")
        config.setdefault(section, {})[name] = value
    return config


def conv_block(x, filters: int, index: int, cfg: dict):
    """Add one block: ``convs_per_block`` x (conv [+ batch norm]), max pooling, dropout."""
    reg = keras.regularizers.L2(cfg["l2"]) if cfg["l2"] else None
    for j in range(cfg["convs_per_block"]):
        x = keras.layers.Conv2D(
            filters,
            cfg["kernel_size"],
            padding="same",
            activation=cfg["activation"],
            kernel_regularizer=reg,
            name=f"block{index}_conv{j + 1}",
        )(x)
        if cfg["batchnorm"]:
            # The moving statistics only serve the per-epoch validation metrics (0.9: they follow
            # a short run); ml.classify.batchnorm.calibrate sets the served ones exactly after training.
            x = keras.layers.BatchNormalization(
                momentum=cfg["batchnorm_momentum"], name=f"block{index}_bn{j + 1}"
            )(x)
    x = keras.layers.MaxPooling2D(2, name=f"block{index}_pool")(x)
    return (
        keras.layers.Dropout(cfg["dropout"], name=f"block{index}_dropout")(x)
        if cfg["dropout"]
        else x
    )


def classifier_head(x, num_classes: int, cfg: dict):
    """Add pooling, dense layers and the float32 softmax output."""
    pooling = {
        "flatten": keras.layers.Flatten,
        "avg": keras.layers.GlobalAveragePooling2D,
        "max": keras.layers.GlobalMaxPooling2D,
    }.get(cfg["pooling"])
    if pooling is None:
        raise ValueError(
            f"pooling must be flatten, avg or max. Received: pooling={cfg['pooling']!r}"
        )
    x = pooling(name="pool")(x)
    reg = keras.regularizers.L2(cfg["l2"]) if cfg["l2"] else None
    for i, units in enumerate(cfg["dense"] or []):
        x = keras.layers.Dense(
            units, activation=cfg["activation"], kernel_regularizer=reg, name=f"dense{i + 1}"
        )(x)
        if cfg["dense_dropout"]:
            x = keras.layers.Dropout(cfg["dense_dropout"], name=f"dense{i + 1}_dropout")(x)
    return keras.layers.Dense(
        num_classes, activation="softmax", dtype="float32", name="probabilities"
    )(x)


def build_custom_cnn(cfg: dict, input_shape: tuple, num_classes: int) -> keras.Model:
    """Build the custom CNN described by the ``model`` config section."""
    inputs = keras.Input(input_shape, name="image")
    x = Normalize("unit", name="normalize")(inputs)
    for i, filters in enumerate(cfg["filters"]):
        x = conv_block(x, int(filters), i + 1, cfg)
    return keras.Model(inputs, classifier_head(x, num_classes, cfg), name="custom_cnn")


def build_transfer(cfg: dict, input_shape: tuple, num_classes: int) -> keras.Model:
    """Build a backbone (frozen, BN in inference mode) with a new classifier head."""
    backbone = frozen_backbone(cfg, input_shape)
    inputs = keras.Input(input_shape, name="image")
    x = Normalize(NORMALIZATION[cfg["backbone"].lower()], name="normalize")(inputs)
    x = backbone(x, training=False)
    head_cfg = {**cfg, "dropout": 0.0}
    return keras.Model(
        inputs, classifier_head(x, num_classes, head_cfg), name=f"{cfg['backbone']}_transfer"
    )


def build_model(config: dict, num_classes: int) -> keras.Model:
    """Build the classifier described by a full config for ``num_classes`` labels."""
    if num_classes < 2:
        raise ValueError(
            f"A classifier needs at least 2 labels. Received: num_classes={num_classes}"
        )
    size = config["preprocessing"]["image_size"]
    input_shape = (int(size[0]), int(size[1]), 3)
    kind = config["model"]["type"]
    if kind == "custom_cnn":
        return build_custom_cnn(config["model"], input_shape, num_classes)
    if kind == "transfer":
        return build_transfer(config["model"], input_shape, num_classes)
    if kind == "features":
        return features.build_features_model(config, num_classes)
    raise ValueError(
        f"model.type must be custom_cnn, transfer or features. Received: type={kind!r}"
    )


def unfreeze_top(model: keras.Model, n_layers: int) -> None:
    """Make the last ``n_layers`` weight layers of the backbone trainable (BN layers stay frozen)."""
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    backbone.trainable = True
    weighted = [layer for layer in backbone.layers if layer.weights]
    for i, layer in enumerate(weighted):
        is_bn = isinstance(layer, keras.layers.BatchNormalization)
        layer.trainable = i >= len(weighted) - n_layers and not is_bn


def build_phases(config: dict) -> list[dict]:
    """Return the training phases: one for a CNN; frozen then fine-tuning of the top layers for transfer."""
    t, m = config["training"], config["model"]
    epochs = int(t["epochs"])
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1. Received: epochs={epochs}")
    if m["type"] != "transfer" or not m["fine_tune_layers"]:
        return [
            {"name": "train", "start": 0, "end": epochs, "lr": t["learning_rate"], "unfreeze": 0}
        ]
    frozen = min(epochs, int(t["frozen_epochs"]) or epochs)
    phases = [
        {"name": "frozen", "start": 0, "end": frozen, "lr": t["learning_rate"], "unfreeze": 0}
    ]
    if epochs > frozen:
        phases.append(
            {
                "name": "finetune",
                "start": frozen,
                "end": epochs,
                "lr": t["fine_tune_learning_rate"],
                "unfreeze": int(m["fine_tune_layers"]),
            }
        )
    return phases


def batch_size_for(training: dict, n_train: int) -> int:
    """The batch size: ``training.batch_size``, smaller where an epoch would have under ``min_steps_per_epoch`` steps.

    The configs count their schedule, warm-up, patience and averaging in epochs. A CelebA epoch is
    hundreds of optimizer steps; a retrain on a hundred images at batch 64 has 2, so "25 epochs"
    would be 50 updates, most of them spent recovering from Adam's first steps. Smaller batches
    keep an epoch at least this many updates for the same compute per epoch.
    """
    size, steps = int(training["batch_size"]), int(training.get("min_steps_per_epoch") or 0)
    if size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={size}")
    return max(1, min(size, n_train // steps)) if steps > 0 and n_train else size


def scale_learning_rates(training: dict, factor: float) -> dict:
    """``training`` with every learning rate (base, fine-tuning, piecewise values) multiplied by ``factor``.

    Used with a smaller batch than configured (the linear scaling rule): each step then follows a
    noisier gradient, so it takes a proportionally smaller step, and an epoch of small steps moves
    the weights about as far as the configured epoch of large ones, in more, smaller updates.
    """
    out = {
        **training,
        "learning_rate": float(training["learning_rate"]) * factor,
        "fine_tune_learning_rate": float(training["fine_tune_learning_rate"]) * factor,
    }
    schedule = training.get("lr_schedule")
    if schedule and schedule.get("type") == "piecewise":
        out["lr_schedule"] = {**schedule, "values": [float(v) * factor for v in schedule["values"]]}
    return out


def schedule_callbacks(
    schedule: dict | None, base_lr: float, epochs: int, warmup_epochs: int = 0
) -> list:
    """Return the callbacks for ``training.lr_schedule`` (piecewise by epoch, cosine or plateau).

    ``warmup_epochs``: the learning rate rises linearly to the schedule's over the first epochs.
    Adam's first steps move every weight by about the learning rate, whatever its gradient; on a
    layer with a large fan-in (the custom CNN's flatten -> dense: 32768 inputs) that shifts each
    unit by tens, and a run of a few dozen steps spends much of itself recovering.
    """
    kind = (schedule or {}).get("type")
    warmup = int(warmup_epochs or 0)
    if kind is None:

        def rate(e, lr):
            return float(base_lr)

    elif kind == "piecewise":
        bounds, values = schedule["boundaries"], schedule["values"]
        if len(values) != len(bounds) + 1:
            raise ValueError(
                f"piecewise needs one more value than boundaries. Received: lr_schedule={schedule}"
            )

        def rate(e, lr):
            return float(values[sum(e >= b for b in bounds)])

    elif kind == "cosine":

        def rate(e, lr):
            return float(base_lr * 0.5 * (1 + np.cos(np.pi * min(e, epochs) / max(1, epochs))))

    elif kind == "plateau":
        plateau = keras.callbacks.ReduceLROnPlateau(
            factor=schedule.get("factor", 0.5), patience=schedule.get("patience", 2), min_lr=1e-6
        )
        if not warmup:
            return [plateau]

        # after the warm-up the plateau callback owns the rate: hand it the base rate once
        def rate(e, lr):
            return float(base_lr) if e <= warmup else float(lr)

        return [keras.callbacks.LearningRateScheduler(warmed(rate, warmup)), plateau]
    else:
        raise ValueError(
            f"lr_schedule.type must be piecewise, cosine or plateau. Received: type={kind!r}"
        )
    if kind is None and not warmup:
        return []
    return [keras.callbacks.LearningRateScheduler(warmed(rate, warmup))]


def warmed(rate, warmup: int):
    """Wrap an (epoch, lr) -> lr schedule with a linear warm-up over its first ``warmup`` epochs."""
    if warmup < 0:
        raise ValueError(f"warmup_epochs must be >= 0. Received: warmup_epochs={warmup}")
    return lambda e, lr: rate(e, lr) * (e + 1) / (warmup + 1) if e < warmup else rate(e, lr)


def early_stopping(setting: dict | None) -> list:
    """Return an EarlyStopping callback for ``training.early_stopping`` (or none)."""
    if not setting:
        return []
    return [
        keras.callbacks.EarlyStopping(
            monitor=setting.get("monitor", "val_loss"),
            patience=setting.get("patience", 5),
            restore_best_weights=setting.get("restore_best_weights", True),
        )
    ]
