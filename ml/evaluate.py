"""Evaluate a trained classifier: metrics (NumPy only), a printed table, JSON and PNG plots.

python -m ml.evaluate MODEL_DIR --data DIR [--out DIR] [--split test|val|train|all]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from ml import data, modeldir


def roc_curve(is_positive: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return (false positive rates, true positive rates) over all distinct score thresholds."""
    order = np.argsort(-scores, kind="stable")
    scores, is_positive = scores[order], is_positive[order].astype(float)
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp, fp = np.cumsum(is_positive)[last_of_tie], np.cumsum(1 - is_positive)[last_of_tie]
    tpr = np.r_[0.0, tp / tp[-1]] if tp[-1] else np.r_[0.0, tp * 0]
    fpr = np.r_[0.0, fp / fp[-1]] if fp[-1] else np.r_[0.0, fp * 0]
    return fpr, tpr


def roc_auc(is_positive: np.ndarray, scores: np.ndarray) -> float | None:
    """Return the area under the ROC curve, or None when only one class is present."""
    if is_positive.all() or not is_positive.any():
        return None
    fpr, tpr = roc_curve(is_positive, scores)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def best_threshold_accuracy(
    is_positive: np.ndarray, scores: np.ndarray
) -> tuple[float, float | None]:
    """Return (the highest accuracy of calling ``scores >= t`` positive over all t, that t; None: none positive).

    A model whose argmax accuracy is far below this ranks well but decides badly: its threshold
    is in the wrong place (stale batch-norm statistics did that once, issue 14).
    """
    is_positive, scores = np.asarray(is_positive, dtype=bool), np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    pos = is_positive[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores[order])), len(scores) - 1]
    # Calling the top k positive: right = positives among them + negatives after them.
    right = np.cumsum(pos)[last_of_tie] + (~pos).sum() - np.cumsum(~pos)[last_of_tie]
    right = np.r_[(~pos).sum(), right]  # k = 0: everything called negative
    best = int(np.argmax(right))
    threshold = None if best == 0 else float(scores[order][last_of_tie[best - 1]])
    return float(right[best] / max(1, len(scores))), threshold


def mcnemar_exact(candidate_right, compared_right, alternative: str = "better") -> dict:
    """Exact McNemar test: is the candidate ``better`` (or ``worse``) than the compared model on the same images?

    Only discordant images count: ``b`` the candidate alone gets right, ``c`` the compared one
    alone. Without a difference each is a coin flip, so b ~ Binomial(b + c, 1/2); the one-sided
    p-value is P(B >= b) for ``better`` and P(B <= b) for ``worse``, summed exactly.
    """
    ours, theirs = np.asarray(candidate_right, dtype=bool), np.asarray(compared_right, dtype=bool)
    if ours.shape != theirs.shape or ours.ndim != 1:
        raise ValueError(
            f"Paired outcomes must be two 1-D arrays of one length. Received: shapes={ours.shape}, "
            f"{theirs.shape}"
        )
    if alternative not in ("better", "worse"):
        raise ValueError(
            f"alternative must be 'better' or 'worse'. Received: alternative={alternative!r}"
        )
    b, c = int((ours & ~theirs).sum()), int((~ours & theirs).sum())
    tail = b if alternative == "better" else c
    p = sum(math.comb(b + c, k) for k in range(tail, b + c + 1)) / 2 ** (b + c)
    return {
        "test": "exact McNemar (one-sided binomial on discordant pairs)",
        "alternative": f"candidate {alternative}",
        "n": int(len(ours)),
        "candidate_only_right": b,
        "compared_only_right": c,
        "p_value": float(p),
    }


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """Return the n x n confusion matrix (rows: true label, columns: predicted label)."""
    matrix = np.zeros((n, n), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def metrics_from_predictions(y_true, probs, labels) -> dict:
    """Return accuracy, precision/recall/F1 (per class and macro), ROC-AUC and the confusion matrix."""
    y_true, probs = np.asarray(y_true, dtype=np.int64), np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (len(y_true), len(labels)):
        raise ValueError(f"probs must have shape (n, {len(labels)}). Received: shape={probs.shape}")
    cm = confusion_matrix(y_true, probs.argmax(axis=1), len(labels))
    tp = np.diag(cm).astype(float)
    precision = np.divide(tp, cm.sum(axis=0), out=np.zeros_like(tp), where=cm.sum(axis=0) > 0)
    recall = np.divide(tp, cm.sum(axis=1), out=np.zeros_like(tp), where=cm.sum(axis=1) > 0)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros_like(tp),
        where=(precision + recall) > 0,
    )
    best = {}
    if len(labels) == 2:
        auc = roc_auc(y_true == 1, probs[:, 1])
        if len(y_true):
            acc, threshold = best_threshold_accuracy(y_true == 1, probs[:, 1])
            best = {"best_threshold_accuracy": acc, "best_threshold": threshold}
    else:
        aucs = [roc_auc(y_true == c, probs[:, c]) for c in range(len(labels))]
        aucs = [a for a in aucs if a is not None]
        auc = float(np.mean(aucs)) if aucs else None
    per_class = {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(labels, precision, recall, f1, cm.sum(axis=1))
    }
    return {
        "n": int(len(y_true)),
        "accuracy": float(tp.sum() / max(1, len(y_true))),
        "precision_macro": float(precision.mean()),
        "recall_macro": float(recall.mean()),
        "f1_macro": float(f1.mean()),
        "roc_auc": auc,
        **best,
        "per_class": per_class,
        "labels": list(labels),
        "confusion_matrix": cm.tolist(),
    }


def predict_samples(model, samples: data.Samples, preprocessing: dict, batch_size: int = 64):
    """Return (true labels, softmax probabilities) of ``model`` over ``samples`` (bad files skipped)."""
    ds = data.make_dataset(samples, preprocessing, batch_size=batch_size, cache=False)
    truths, probs = [], []
    for x, y, w in ds:
        keep = w.numpy() > 0
        probs.append(np.asarray(model(x, training=False))[keep])
        truths.append(y.numpy()[keep])
    if not probs:
        return np.zeros(0, np.int64), np.zeros((0, len(samples.label_names)))
    return np.concatenate(truths), np.concatenate(probs)


def format_table(metrics: dict) -> str:
    """Return the metrics as a plain-text table."""
    auc = metrics["roc_auc"]
    lines = [
        f"n={metrics['n']}  accuracy={metrics['accuracy']:.4f}  f1_macro={metrics['f1_macro']:.4f}  "
        f"roc_auc={'n/a' if auc is None else f'{auc:.4f}'}"
        + (
            f"  best_threshold_accuracy={metrics['best_threshold_accuracy']:.4f}"
            if metrics.get("best_threshold_accuracy") is not None
            else ""
        ),
        f"{'label':<20}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>10}",
    ]
    for name, m in metrics["per_class"].items():
        lines.append(
            f"{name:<20}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>10}"
        )
    lines.append(
        f"{'macro':<20}{metrics['precision_macro']:>10.4f}{metrics['recall_macro']:>10.4f}"
        f"{metrics['f1_macro']:>10.4f}{metrics['n']:>10}"
    )
    lines.append(
        "confusion matrix (rows true, columns predicted): "
        + json.dumps(metrics["confusion_matrix"])
    )
    return "\n".join(lines)


def _pyplot():
    """Return matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(y_true, probs, labels, path) -> Path:
    """Save the ROC curve(s) (positive class for 2 labels, one-vs-rest otherwise) as a PNG."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    for c in [1] if len(labels) == 2 else range(len(labels)):
        if 0 < (y_true == c).sum() < len(y_true):
            fpr, tpr = roc_curve(y_true == c, probs[:, c])
            ax.plot(fpr, tpr, label=f"{labels[c]} (AUC {roc_auc(y_true == c, probs[:, c]):.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8)
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_confusion(matrix, labels, path) -> Path:
    """Save the confusion matrix as a PNG."""
    plt = _pyplot()
    matrix = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.5 + 0.8 * len(labels), 1.2 + 0.8 * len(labels)))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(
            j,
            i,
            str(v),
            ha="center",
            va="center",
            color="white" if v > matrix.max() / 2 else "black",
        )
    ax.set(
        xticks=range(len(labels)),
        yticks=range(len(labels)),
        xticklabels=labels,
        yticklabels=labels,
        xlabel="predicted",
        ylabel="true",
        title="confusion matrix",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def plot_history(history: dict[str, list[float]], path) -> Path:
    """Save loss and accuracy per epoch (train and validation) as a PNG."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for name in (key, f"val_{key}"):
            if history.get(name):
                ax.plot(range(1, len(history[name]) + 1), history[name], marker="o", label=name)
        ax.set(xlabel="epoch", title=key)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def write_report(y_true, probs, labels, out_dir) -> dict:
    """Compute the metrics and write metrics.json, roc.png and confusion_matrix.png into ``out_dir``."""
    metrics = metrics_from_predictions(y_true, probs, labels)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(metrics, indent=2))
    plot_roc(y_true, probs, labels, out / "roc.png")
    plot_confusion(metrics["confusion_matrix"], labels, out / "confusion_matrix.png")
    return metrics


def predict_dir(model_dir, data_dir_or_samples, split: str = "test"):
    """Return (true labels, probabilities, label names) of a model folder on a data folder's ``split`` or on Samples."""
    from ml.inference import Classifier

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
