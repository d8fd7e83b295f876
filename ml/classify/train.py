"""Train a classifier (``kind: classifier``) from its config: phases, checkpoints, weight averaging.

``python -m ml.train`` (ml/train.py) reads any config and calls ``train`` here for classifiers.
A killed run resumes where it stopped: checkpoints live in ``OUT/checkpoints`` until the run ends.
Same role as ``ml/faces/train.py`` (each package's trainer), under the one entry point ml/train.py.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ml.classify import batchnorm, classifier, data, features
from ml.classify.blocks import class_weights, compile_model
from ml.classify.folder import save_model_folder
from ml.common.stoppable import check_stop


def train(
    config,
    data_dir,
    out_dir,
    *,
    progress=None,
    should_stop=None,
    seed: int = 0,
    feature_cache=None,
    **overrides,
) -> dict:
    """Train the classifier a config (dict or YAML path) describes; write its model folder to ``out_dir``.

    ``feature_cache``: a folder where ``model.type: features`` keeps backbone features between runs.
    """
    config = classifier.apply_overrides(classifier.load_config(config), overrides)
    progress = progress or (lambda f, m: None)
    if config["model"]["type"] == "features":
        return features.train_features_classifier(
            config, data_dir, Path(out_dir), progress, should_stop, seed, feature_cache
        )
    return train_classifier(config, data_dir, Path(out_dir), progress, should_stop, seed)


@contextlib.contextmanager
def device_strategy():
    """Yield a distribution strategy: MirroredStrategy with mixed precision on GPUs, the default on CPU."""
    if not tf.config.list_physical_devices("GPU"):
        yield tf.distribute.get_strategy()
        return
    previous = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield tf.distribute.MirroredStrategy()
    finally:
        keras.mixed_precision.set_global_policy(previous)


class ProgressReporter(keras.callbacks.Callback):
    """Report ``progress(fraction, message)`` per batch and epoch; raise Cancelled when ``should_stop()``."""

    def __init__(self, progress, should_stop, epochs: int, steps: int, share: float = 0.95):
        super().__init__()
        self.progress, self.should_stop = progress, should_stop
        self.epochs, self.steps, self.share, self.epoch = epochs, max(1, steps), share, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        check_stop(self.should_stop)
        done = (self.epoch + min(1.0, (batch + 1) / self.steps)) / self.epochs
        self.progress(
            self.share * done,
            f"epoch {self.epoch + 1}/{self.epochs} batch {batch + 1}/{self.steps}",
        )

    def on_epoch_end(self, epoch, logs=None):
        shown = " ".join(f"{k}={v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        self.progress(
            self.share * (epoch + 1) / self.epochs, f"epoch {epoch + 1}/{self.epochs}: {shown}"
        )
        check_stop(self.should_stop)


class HistoryLog(keras.callbacks.Callback):
    """Per-epoch metrics kept in a JSON file, so a resumed run's curve includes the epochs before the kill."""

    def __init__(self, path: Path):
        super().__init__()
        self.path = path
        self.records = (
            {int(k): v for k, v in json.loads(path.read_text()).items()} if path.exists() else {}
        )

    def on_epoch_end(self, epoch, logs=None):
        self.records[epoch] = {k: float(v) for k, v in (logs or {}).items()}
        self.path.write_text(json.dumps(self.records))

    def as_lists(self) -> dict[str, list[float]]:
        """Return {metric: [value per epoch]} in epoch order."""
        epochs = sorted(self.records)
        keys = sorted({k for e in epochs for k in self.records[e]})
        return {k: [self.records[e].get(k) for e in epochs] for k in keys}


class WeightAverage(keras.callbacks.Callback):
    """Serve the average of the weights over the last epochs instead of the last epoch's (Polyak averaging).

    On a few hundred images an epoch is a handful of steps and each step moves the network a lot:
    the weights at any one epoch (the last, or the one with the best loss on a validation split of
    twenty images) are a noisy draw. An exponential average of the epoch-end weights with a span of
    ``window`` epochs (bias-corrected, so early epochs do not drag it) keeps what the epochs agree
    on. Batch-norm statistics do not average: ``ml.classify.batchnorm.calibrate`` measures them afterwards
    for the averaged weights. A resumed run restarts the average at the epoch it resumes from.
    """

    def __init__(self, window: int):
        super().__init__()
        if window < 1:
            raise ValueError(f"average_epochs must be >= 1. Received: average_epochs={window}")
        self.decay, self.average, self.epochs = 1.0 - 2.0 / (window + 1), None, 0

    def on_epoch_end(self, epoch, logs=None):
        variables = self.model.trainable_variables
        if self.average is None:
            self.average = [np.zeros(v.shape, np.float64) for v in variables]
        for a, v in zip(self.average, variables):
            a *= self.decay
            a += (1.0 - self.decay) * np.asarray(keras.ops.convert_to_numpy(v), np.float64)
        self.epochs += 1

    def on_train_end(self, logs=None):
        if self.average is None:
            return
        correction = 1.0 - self.decay**self.epochs
        for a, v in zip(self.average, self.model.trainable_variables):
            v.assign((a / correction).astype(v.dtype))


def averaging(training: dict, last_phase: bool) -> list:
    """The WeightAverage callback ``training.average_epochs`` asks for (last phase only), or none."""
    window = int(training.get("average_epochs") or 0)
    if not window or not last_phase:
        return []
    if (training.get("early_stopping") or {}).get("restore_best_weights", False):
        raise ValueError(
            "average_epochs and early_stopping.restore_best_weights both choose the served "
            "weights; set restore_best_weights: false to serve the average"
        )
    return [WeightAverage(window)]


def run_phases(model, config, datasets, checkpoints: Path, extra_callbacks) -> None:
    """Fit each phase; a finished phase leaves a weights file so a resumed run skips it."""
    t = config["training"]
    phases = classifier.build_phases(config)
    for phase in phases:
        done = checkpoints / f"{phase['name']}.done.weights.h5"
        if phase["unfreeze"]:
            classifier.unfreeze_top(model, phase["unfreeze"])
        compile_model(model, phase["lr"], t["optimizer"])
        if done.exists():
            model.load_weights(done)
            continue
        model._initial_epoch = None  # Keras keeps the last restored epoch on the model otherwise
        callbacks = [
            keras.callbacks.BackupAndRestore(str(checkpoints / phase["name"])),
            *extra_callbacks,
            *classifier.schedule_callbacks(
                t["lr_schedule"],
                phase["lr"],
                phase["end"],
                t["warmup_epochs"] if phase["start"] == 0 else 0,
            ),
            *classifier.early_stopping(t["early_stopping"]),
            *averaging(t, phase is phases[-1]),
        ]
        model.fit(
            datasets[0],
            validation_data=datasets[1],
            epochs=phase["end"],
            initial_epoch=phase["start"],
            callbacks=callbacks,
            shuffle=False,
            verbose=0,
        )
        model.save_weights(done)


def train_classifier(config: dict, data_dir, out: Path, progress, should_stop, seed: int) -> dict:
    """Train a classifier from a full config; write and return its model folder summary."""
    keras.utils.set_random_seed(seed)
    samples, splits = _load_splits(data_dir, config, seed, progress)
    t, skips = config["training"], data.SkipCounter()
    weights = class_weights(splits["train"].labels, len(samples.label_names), t["class_weight"])
    config, batch_size = _fit_batch_size(config, len(splits["train"]))
    datasets = [
        data.make_dataset(
            splits[name],
            config["preprocessing"],
            batch_size=batch_size,
            training=name == "train",
            augmentation=config["augmentation"],
            seed=seed,
            skips=skips,
            class_weight=weights if name == "train" else None,
        )
        if len(splits[name])
        else None
        for name in ("train", "val")
    ]
    checkpoints = out / "checkpoints"
    checkpoints.mkdir(parents=True, exist_ok=True)
    if batch_size != int(t["batch_size"]):
        progress(
            0.0,
            f"batch size {batch_size} (not {t['batch_size']}) and learning rates scaled by "
            f"{batch_size}/{t['batch_size']}: at least {t['min_steps_per_epoch']} steps per epoch "
            "on this small data set",
        )
    history = HistoryLog(checkpoints / "history.json")
    steps = -(-len(splits["train"]) // batch_size)
    reporter = ProgressReporter(progress, should_stop, int(config["training"]["epochs"]), steps)
    with device_strategy() as strategy, strategy.scope():
        model = classifier.build_model(config, len(samples.label_names))
        run_phases(model, config, datasets, checkpoints, [history, reporter])
        _calibrate_batchnorm(model, splits["train"], config, batch_size, skips, progress)
    progress(0.95, "evaluating and saving")
    summary = save_model_folder(model, config, samples, splits, history.as_lists(), out, seed)
    summary["skipped"] = len(samples.skipped) + len(skips.paths)
    shutil.rmtree(checkpoints, ignore_errors=True)
    progress(1.0, f"done: {json.dumps(summary['metrics'].get('summary', {}))}")
    return summary


def _load_splits(data_dir, config: dict, seed: int, progress):
    """The data set's samples and its splits by name; DataError when there is nothing to train on."""
    samples = data.load_samples(data_dir, config["data"], seed)
    splits = {name: samples.split(name) for name in data.SPLITS}
    if len(splits["train"]) == 0:
        raise data.DataError(f"{data_dir} has no training images")
    progress(
        0.0,
        f"{len(splits['train'])} training images {splits['train'].class_counts()}, "
        f"{len(samples.skipped)} unreadable files skipped",
    )
    return samples, splits


def _fit_batch_size(config: dict, n_train: int) -> tuple[dict, int]:
    """The batch size for ``n_train`` images and the config to train with: when it is not the
    config's own, learning rates are scaled alike and the config says so (the saved config.yaml
    shows what was trained)."""
    t = config["training"]
    batch_size = classifier.batch_size_for(t, n_train)
    if batch_size == int(t["batch_size"]):
        return config, batch_size
    scaled = classifier.scale_learning_rates(t, batch_size / int(t["batch_size"]))
    return {**config, "training": {**scaled, "batch_size": batch_size}}, batch_size


def _calibrate_batchnorm(model, train_split, config: dict, batch_size: int, skips, progress):
    """Measure batch-norm statistics on the training images for the layers that need it."""
    if not batchnorm.calibrated_layers(model):
        return
    progress(0.95, "measuring batch-norm statistics on the training images")
    batchnorm.calibrate(
        model,
        data.make_dataset(train_split, config["preprocessing"], batch_size=batch_size, skips=skips),
    )
