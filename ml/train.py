"""Train any model kind from a YAML config; classifiers are trained here.

    python -m ml.train CONFIG.yaml --data DIR --out DIR [--epochs N] [--seed S] [--set key=value]

A killed run resumes where it stopped: checkpoints live in ``OUT/checkpoints`` until the run ends.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
from pathlib import Path

import keras
import numpy as np
import yaml

from ml import batchnorm, classifier, data, evaluate, modeldir
from ml.errors import Cancelled, check_stop

__all__ = ["train", "main", "Cancelled"]
OTHER_KINDS = ("adain", "cyclegan")


def read_kind(config) -> tuple[str, dict]:
    """Return (kind, config dict) of a config given as a dict or a YAML path."""
    if isinstance(config, (str, Path)):
        config = classifier.load_config(config)
    if not isinstance(config, dict):
        raise ValueError(f"A config must be a mapping or a YAML path. Received: config={config!r}")
    return config.get("kind", "classifier"), config


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
    """Train the model a config describes on ``data_dir``, write a model folder to ``out_dir``; return its summary.

    ``feature_cache``: a folder where ``model.type: features`` keeps backbone features between runs.
    """
    kind, config = read_kind(config)
    if kind in OTHER_KINDS:
        import importlib

        trainer = importlib.import_module(f"ml.{kind}").train
        config = {**config, **overrides} if overrides else config
        return trainer(
            config, data_dir, out_dir, progress=progress, should_stop=should_stop, seed=seed
        )
    if kind == "face":
        from ml.faces import train as face_train

        return face_train.train(
            config,
            data_dir,
            out_dir,
            progress=progress,
            should_stop=should_stop,
            seed=seed,
            **overrides,
        )
    if kind != "classifier":
        raise ValueError(
            f"kind must be one of {('classifier', 'face', *OTHER_KINDS)}. Received: kind={kind!r}"
        )
    config = classifier.apply_overrides(classifier.load_config(config), overrides)
    if config["model"]["type"] == "features":
        from ml import features

        return features.train_features_classifier(
            config,
            data_dir,
            Path(out_dir),
            progress or (lambda f, m: None),
            should_stop,
            seed,
            feature_cache,
        )
    return train_classifier(
        config, data_dir, Path(out_dir), progress or (lambda f, m: None), should_stop, seed
    )


@contextlib.contextmanager
def device_strategy():
    """Yield a distribution strategy: MirroredStrategy with mixed precision on GPUs, the default on CPU."""
    import tensorflow as tf

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
    on. Batch-norm statistics do not average: ``ml.batchnorm.calibrate`` measures them afterwards
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
        classifier.compile_model(model, phase["lr"], t["optimizer"])
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


def split_metrics(model, config: dict, splits: dict) -> dict:
    """Return metrics on the validation and test splits, plus a summary on the best held-out one."""
    metrics = {}
    for name in ("val", "test"):
        if len(splits[name]):
            y, probs = evaluate.predict_samples(model, splits[name], config["preprocessing"])
            metrics[name] = evaluate.metrics_from_predictions(y, probs, splits[name].label_names)
    held_out = "test" if "test" in metrics else "val" if "val" in metrics else None
    if held_out:
        m = metrics[held_out]
        metrics["summary"] = {
            "split": held_out,
            "n": m["n"],
            "accuracy": m["accuracy"],
            "f1_macro": m["f1_macro"],
            "roc_auc": m["roc_auc"],
        }
    return metrics


def save_model_folder(
    model, config: dict, samples, splits: dict, history: dict, out: Path, seed: int
) -> dict:
    """Write model.keras, config.yaml, metrics.json, training_curve.png and meta.json; return the summary."""
    model.save(out / "model.keras")
    metrics = split_metrics(model, config, splits)
    (out / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (out / "metrics.json").write_text(json.dumps({**metrics, "history": history}, indent=2))
    evaluate.plot_history(history, out / "training_curve.png")
    preprocessing = {
        **data.PREPROCESSING_DEFAULTS,
        **config["preprocessing"],
        "input": "RGB float32 0..255, shape (batch, H, W, 3)",
        "normalization": model.get_layer("normalize").mode,
    }
    counts = {name: s.class_counts() for name, s in splits.items()}
    epochs = len(next(iter(history.values()), []))
    modeldir.write_meta(
        out,
        {
            "kind": "classifier",
            "name": config.get("name", "classifier"),
            "labels": samples.label_names,
            "preprocessing": preprocessing,
            "config": config,
            "metrics": metrics,
            "epochs": epochs,
            "seed": seed,
            "data": {"layout": samples.layout, "counts": counts, "skipped": len(samples.skipped)},
            "versions": {"keras": keras.__version__},
        },
    )
    return {
        "model_dir": str(out),
        "labels": samples.label_names,
        "metrics": metrics,
        "epochs": epochs,
        "history": history,
    }


def train_classifier(config: dict, data_dir, out: Path, progress, should_stop, seed: int) -> dict:
    """Train a classifier from a full config; write and return its model folder summary."""
    keras.utils.set_random_seed(seed)
    samples = data.load_samples(data_dir, config["data"], seed)
    splits = {name: samples.split(name) for name in data.SPLITS}
    if len(splits["train"]) == 0:
        raise data.DataError(f"{data_dir} has no training images")
    t, skips = config["training"], data.SkipCounter()
    progress(
        0.0,
        f"{len(splits['train'])} training images {splits['train'].class_counts()}, "
        f"{len(samples.skipped)} unreadable files skipped",
    )
    weights = classifier.class_weights(
        splits["train"].labels, len(samples.label_names), t["class_weight"]
    )
    batch_size = classifier.batch_size_for(t, len(splits["train"]))
    if batch_size != int(t["batch_size"]):  # the saved config.yaml shows what was trained
        config = {
            **config,
            "training": {
                **classifier.scale_learning_rates(t, batch_size / int(t["batch_size"])),
                "batch_size": batch_size,
            },
        }
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
    steps = -(-len(splits["train"]) // batch_size)
    if batch_size != int(t["batch_size"]):
        progress(
            0.0,
            f"batch size {batch_size} (not {t['batch_size']}) and learning rates scaled by "
            f"{batch_size}/{t['batch_size']}: at least {t['min_steps_per_epoch']} steps per epoch "
            "on this small data set",
        )
        t = config["training"]
    history = HistoryLog(checkpoints / "history.json")
    callbacks = [history, ProgressReporter(progress, should_stop, int(t["epochs"]), steps)]
    with device_strategy() as strategy, strategy.scope():
        model = classifier.build_model(config, len(samples.label_names))
        run_phases(model, config, datasets, checkpoints, callbacks)
        if batchnorm.calibrated_layers(model):
            progress(0.95, "measuring batch-norm statistics on the training images")
            batchnorm.calibrate(
                model,
                data.make_dataset(
                    splits["train"], config["preprocessing"], batch_size=batch_size, skips=skips
                ),
            )
    progress(0.95, "evaluating and saving")
    summary = save_model_folder(model, config, samples, splits, history.as_lists(), out, seed)
    summary["skipped"] = len(samples.skipped) + len(skips.paths)
    shutil.rmtree(checkpoints, ignore_errors=True)
    progress(1.0, f"done: {json.dumps(summary['metrics'].get('summary', {}))}")
    return summary


class ConsoleProgress:
    """A tqdm bar for the CLI that also prints every message except per-batch ones."""

    bar = None

    def __enter__(self):
        return self

    def __call__(self, fraction: float, message: str):
        if self.bar is None:  # opened on the first report, so an early error stays one line
            from tqdm import tqdm

            self.bar = tqdm(
                total=1000, bar_format="{l_bar}{bar}| {elapsed}<{remaining}", file=sys.stderr
            )
        self.bar.n = int(1000 * fraction)
        self.bar.set_description_str(message.split(":")[0][:40], refresh=True)
        if " batch " not in message:
            self.bar.write(message, file=sys.stderr)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def parse_args(argv):
    """Parse the CLI arguments."""
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML config (ml/configs/*.yaml)")
    parser.add_argument(
        "--data", required=True, help="data folder (CelebA layout or DIR/<label>/*.jpg)"
    )
    parser.add_argument("--out", required=True, help="model folder to write")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. data.attribute=Smiling (repeatable)",
    )
    return parser.parse_args(argv)


def cli_overrides(args) -> dict:
    """Return the config overrides given on the command line."""
    overrides = {"epochs": args.epochs} if args.epochs is not None else {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set takes KEY=VALUE. Received: {item!r}")
        overrides[key.strip()] = yaml.safe_load(value)
    return overrides


def main(argv=None) -> int:
    """Run the training CLI; returns the exit status (2 on a user error, with a one-line message)."""
    args = parse_args(argv)
    try:
        if not Path(args.config).is_file():
            raise ValueError(f"config file not found: {args.config}")
        data.detect_layout(args.data)
        with ConsoleProgress() as console:
            summary = train(
                args.config,
                args.data,
                args.out,
                progress=console,
                seed=args.seed,
                **cli_overrides(args),
            )
    except (ValueError, OSError, modeldir.ModelDirError) as exc:
        print(
            f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
            file=sys.stderr,
        )
        return 2
    except (KeyboardInterrupt, Cancelled):
        print("stopped: rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130
    held_out = summary.get("metrics", {}).get("summary", {})
    print(
        json.dumps(
            {
                "model_dir": summary.get("model_dir"),
                "epochs": summary.get("epochs"),
                "skipped": summary.get("skipped"),
                **held_out,
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
