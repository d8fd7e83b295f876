"""Evaluate a trained model folder (of a kind judged on labelled images: a classifier or a face
model) on a labelled data folder.

    python -m ml.evaluate MODEL_DIR --data DIR [--out DIR] [--split test|val|train|all]

Prints the metrics table and writes evaluation.json, roc.png and confusion_matrix.png.

The entry point of evaluation; `ml/classify/evaluate.py` computes the report for the models it runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ml import kinds
from ml.classify import data
from ml.classify.evaluate import format_table, metrics_from_predictions, write_report


def predict_dir(model_dir, data_dir_or_samples, split: str = "test"):
    """Return (true labels, probabilities, label names) of a model folder on a data folder's
    ``split`` or on Samples, by its kind's ``evaluate``; ValueError for a kind not judged on
    labelled images (a style model)."""
    kind = kinds.get(kinds.kind_of(model_dir))
    if kind.evaluate is None:
        raise ValueError(
            f"{model_dir} holds a {kind.name!r} model, which is not evaluated on labelled images"
        )
    return kind.evaluate(kind.load(model_dir), data_dir_or_samples, split)


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
