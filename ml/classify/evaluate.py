"""A classifier's report: metrics from predictions (NumPy only), a printed table, JSON and PNG plots.

``python -m ml.evaluate`` (ml/evaluate.py) runs a model folder over a data folder and calls these:
the same role, evaluation, as the entry point of that name, for the classifier and face models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ml.classify import data
from ml.common.stats import best_threshold_accuracy, confusion_matrix, roc_auc, roc_curve


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
    import matplotlib  # lazy: plots only; the Agg backend is chosen before pyplot loads

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # lazy: see above

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
