"""Evaluate a trained model folder (a classifier or a face model) on a labelled data folder.

    python -m ml.evaluate MODEL_DIR --data DIR [--out DIR] [--split test|val|train|all]

Prints the metrics table and writes evaluation.json, roc.png and confusion_matrix.png.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from ml.classify import data
from ml.classify.evaluate import (
    format_table,
    metrics_from_predictions,
    predict_samples,
    write_report,
)
from ml.common import modeldir


def predict_dir(model_dir, data_dir_or_samples, split: str = "test"):
    """Return (true labels, probabilities, label names) of a model folder on a data folder's ``split`` or on Samples."""
    from ml.classify.inference import Classifier

    if modeldir.read_meta(model_dir)["kind"] == "face":
        return _predict_face_dir(model_dir, data_dir_or_samples, split)
    clf = Classifier.load(model_dir)
    samples = data_dir_or_samples
    if not isinstance(samples, data.Samples):
        data_cfg = {**clf.config.get("data", {})}
        data_cfg["labels"] = data_cfg.get("labels") or clf.labels
        samples = data.load_samples(samples, data_cfg).split(split)
    if len(samples) == 0:
        raise data.DataError(f"no images in the {split!r} split of the data")
    return (*predict_samples(clf.model, samples, clf.preprocessing), clf.labels)


def _predict_face_dir(model_dir, data_dir_or_samples, split: str):
    """predict_dir for a face model folder: the face pipeline, then the model, 16 photos at a time."""
    from ml.faces.model import FaceClassifier

    clf = FaceClassifier.load(model_dir)
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


def evaluate(model_dir, data_dir_or_samples, out_dir=None, split: str = "test") -> dict:
    """Evaluate a model folder on a data folder's ``split`` (or on given Samples); write a report to ``out_dir``."""
    y_true, probs, labels = predict_dir(model_dir, data_dir_or_samples, split)
    if out_dir is None:
        return metrics_from_predictions(y_true, probs, labels)
    return write_report(y_true, probs, labels, out_dir)


def main(argv=None) -> int:
    """Run the evaluation CLI; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ml.evaluate", description=__doc__.splitlines()[0]
    )
    parser.add_argument("model_dir")
    parser.add_argument("--data", required=True, help="CelebA or folder-per-label data folder")
    parser.add_argument("--out", help="report folder (default MODEL_DIR/evaluation)")
    parser.add_argument("--split", default="test", choices=[*data.SPLITS, "all"])
    args = parser.parse_args(argv)
    try:
        metrics = evaluate(
            args.model_dir, args.data, args.out or Path(args.model_dir) / "evaluation", args.split
        )
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_table(metrics))
    print(f"report written to {args.out or Path(args.model_dir) / 'evaluation'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
