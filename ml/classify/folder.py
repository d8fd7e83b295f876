"""The classifier's model folder: model.keras, config.yaml, metrics.json, training_curve.png, meta.json."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import yaml

from ml.classify import data, evaluate
from ml.common import modeldir


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
