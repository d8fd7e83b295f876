"""Retrain a face task from few labels: a head on the face networks' pooled features.

Starting from a deployed face model of the same task, the head keeps that model's answer as a
prior and learns a correction: ``logits = a * log p_deployed + W z + b`` over the standardised
features ``z``, with an L2 penalty on ``W`` only. Forty labels mostly move the threshold (``b``)
and the confidence (``a``, a temperature); the features earn weight only where the labels show
the deployed model is wrong, so a few labels cannot make it much worse. Without a deployed face
model (a new task), the head is a plain L2-regularised softmax on the features of the networks
a config names. Either way the saved ``model.keras`` is the whole network: chips in, the task's
probabilities out, so it serves and is judged like version 1.

    python -m ml.train ml/configs/face.yaml --data DIR --out DIR [--set start_from=MODEL_DIR]
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import keras
import numpy as np
from scipy.optimize import minimize

from ml.classify import data
from ml.common.stoppable import check_stop
from ml.faces import model as face_model
from ml.faces import networks
from ml.faces.layers import SafeLog

# l2 (on the feature weights) and prior_l2 (pulling the threshold and temperature back to the
# deployed model's) were read off the learning curves in bench/faces.py: with both at 10 the
# head improved smiling from 10 labels on and never fell below version 1 on gender.
DEFAULTS = {"networks": ["expression", "gender", "age"], "l2": 10.0, "prior_l2": 10.0, "flip": True}
CV_FOLDS = 5


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_head(
    z, y, n_classes: int, prior_logp=None, l2: float = 1.0, weights=None, prior_l2: float = 0.0
) -> dict:
    """Fit ``softmax(a * prior_logp + z @ W + b)`` by L-BFGS; returns {"W", "b", "a"} (a None without prior).

    ``z`` is already standardised. The loss is the (sample-weighted) mean cross-entropy plus
    ``l2 / (2 n)`` times the squared norm of ``W`` (scikit-learn's C = 1 / l2 in these units).
    """
    n, d = z.shape
    w = np.ones(n) if weights is None else np.asarray(weights, np.float64)
    w = w * n / w.sum()
    onehot = np.eye(n_classes)[y]
    has_prior = prior_logp is not None

    def unpack(theta):
        W = theta[: d * n_classes].reshape(d, n_classes)
        b = theta[d * n_classes : d * n_classes + n_classes]
        a = theta[-1] if has_prior else 0.0
        return W, b, a

    def loss(theta):
        W, b, a = unpack(theta)
        logits = z @ W + b + (a * prior_logp if has_prior else 0.0)
        p = _softmax(logits)
        ce = -(w * np.log(np.clip((p * onehot).sum(axis=1), 1e-12, None))).sum() / n
        g_logits = (p - onehot) * w[:, None] / n
        k = prior_l2 / n if has_prior else 0.0  # pulls b to 0 and a to 1: the deployed answer
        grad = [(z.T @ g_logits + l2 / n * W).ravel(), g_logits.sum(axis=0) + k * b]
        if has_prior:
            grad.append([(g_logits * prior_logp).sum() + k * (a - 1.0)])
        penalty = 0.5 * l2 / n * (W**2).sum() + 0.5 * k * ((b**2).sum() + (a - 1.0) ** 2)
        return ce + penalty, np.concatenate([np.ravel(g) for g in grad])

    theta0 = np.zeros(d * n_classes + n_classes + (1 if has_prior else 0))
    if has_prior:
        theta0[-1] = 1.0  # start at the deployed model's own answer
    result = minimize(loss, theta0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    W, b, a = unpack(result.x)
    return {"W": W, "b": b, "a": float(a) if has_prior else None, "loss": float(result.fun)}


def _balanced_accuracy(y, pred, n_classes: int) -> float:
    return float(np.mean([np.mean(pred[y == k] == k) for k in range(n_classes) if np.any(y == k)]))


def choose_features(
    blocks: dict[str, np.ndarray], y: np.ndarray, groups: np.ndarray, n_classes: int, l2: float
):
    """The networks whose features a new task's head reads: each network alone, or all, by cross-validation.

    ``groups`` keeps an image and its mirror in the same fold. Returns (names, {candidate: score}).
    """
    candidates = {name: [name] for name in sorted(blocks)}
    if len(blocks) > 1:
        candidates["all"] = sorted(blocks)
    unique = np.unique(groups)
    if len(unique) < 2 * CV_FOLDS:
        return candidates.get("all", sorted(blocks)), {}
    rng = np.random.default_rng(0)
    fold_of = dict(zip(unique, rng.permutation(len(unique)) % CV_FOLDS))
    folds = np.array([fold_of[g] for g in groups])
    scores = {}
    for key, names in candidates.items():
        z = np.concatenate([blocks[n] for n in names], axis=1)
        pred = np.zeros(len(y), int)
        for k in range(CV_FOLDS):
            tr, te = folds != k, folds == k
            mean, std = z[tr].mean(axis=0), z[tr].std(axis=0) + 1e-6
            head = fit_head(
                (z[tr] - mean) / std, y[tr], n_classes, None, l2, balanced_weights(y[tr], n_classes)
            )
            pred[te] = ((z[te] - mean) / std @ head["W"] + head["b"]).argmax(axis=1)
        scores[key] = round(_balanced_accuracy(y, pred, n_classes), 4)
    best = max(scores, key=lambda k: (scores[k], k == "all"))
    return candidates[best], scores


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    per_class = np.where(counts > 0, len(y) / (n_classes * np.maximum(counts, 1)), 0.0)
    return per_class[y]


def head_model(
    base: keras.Model, head: dict, mean: np.ndarray, std: np.ndarray, with_prior: bool, name: str
):
    """``base`` plus the fitted head as one Keras model (standardisation folded into the Dense weights)."""
    inputs = {t.name.split(":")[0]: t for t in base.inputs}
    inputs = {k: keras.Input(t.shape[1:], name=k) for k, t in inputs.items()}
    out = base(inputs)
    W = head["W"] / std[:, None]
    b = head["b"] - (mean / std) @ head["W"]
    parts, kernel = [out["features"]], [W]
    if with_prior:
        parts.insert(0, SafeLog(name="prior_log")(out["probabilities"]))
        kernel.insert(0, head["a"] * np.eye(len(b)))
    x = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="head_input")(parts)
    dense = keras.layers.Dense(len(b), activation="softmax", name="head")
    probs = dense(x)
    dense.set_weights([np.concatenate(kernel).astype(np.float32), b.astype(np.float32)])
    result = {
        "probabilities": probs,
        "features": keras.layers.Identity(name="features")(out["features"]),
    }
    if "distribution" in out:
        result["distribution"] = keras.layers.Identity(name="distribution")(out["distribution"])
    return keras.Model(inputs, result, name=name)


def _read(
    samples: data.Samples, base: face_model.FaceClassifier, flip: bool, progress, should_stop
):
    """Features (and the base's log-probabilities) of every readable image and its mirror.

    Returns (features, log-probabilities, labels, group of each row (its image), counts).
    """
    feats, logps, ys, groups, counts = [], [], [], [], {"images": 0, "skipped": 0, "faces_found": 0}
    for i, (path, label) in enumerate(zip(samples.paths, samples.labels)):
        check_stop(should_stop)
        try:
            image = data.load_image(path)
        except (OSError, ValueError):
            counts["skipped"] += 1
            continue
        views = [image, np.ascontiguousarray(image[:, ::-1])] if flip else [image]
        out, faces = base.outputs(views)
        counts["faces_found"] += int(faces[0].found)
        feats.append(out["features"])
        logps.append(
            np.log(np.clip(out.get("probabilities", np.ones((len(views), 1))), 1e-6, None))
        )
        ys += [int(label)] * len(views)
        groups += [i] * len(views)
        counts["images"] += 1
        progress(0.05 + 0.75 * (i + 1) / len(samples), f"face features {i + 1}/{len(samples)}")
    if not feats:
        raise data.DataError("no readable training images")
    return np.concatenate(feats), np.concatenate(logps), np.asarray(ys), np.asarray(groups), counts


def _blocks(z: np.ndarray, names) -> dict[str, np.ndarray]:
    """Split side-by-side features (networks in sorted order) into one block per network."""
    out, start = {}, 0
    for name in sorted(names):
        size = networks.NETWORKS[name]["features"]
        out[name], start = z[:, start : start + size], start + size
    return out


def train(
    config: dict, data_dir, out_dir, progress=None, should_stop=None, seed: int = 0, **overrides
) -> dict:
    """Fit a face task's head on ``data_dir/<label>/*``; write a face model folder to ``out_dir``.

    ``start_from`` (config ``face.start_from`` or an override): the deployed face model folder of
    the same task; its answer becomes the head's prior and its features the head's input.
    """
    progress = progress or (lambda f, m: None)
    started = time.monotonic()
    cfg = {**DEFAULTS, **(config.get("face") or {})}
    cfg.update({k: v for k, v in overrides.items() if k in DEFAULTS or k == "start_from"})
    labels = list((config.get("data") or {}).get("labels") or overrides.get("data.labels") or [])
    samples = data.read_folder(data_dir, labels or None, 0.0, 0.0)
    labels = samples.label_names
    if len(samples) == 0:
        raise data.DataError(f"{data_dir} has no training images")
    start = cfg.get("start_from")
    base = face_model.FaceClassifier.load(start) if start else None
    with_prior = base is not None and base.labels == labels
    names = sorted(base.specs) if with_prior else sorted(cfg["networks"])
    if not with_prior:
        base = _features_classifier(names, labels)
    progress(
        0.02, f"{len(samples)} training images {samples.class_counts()}; computing face features"
    )
    z, logp, y, groups, counts = _read(samples, base, bool(cfg["flip"]), progress, should_stop)
    scores = {}
    if not with_prior:
        names, z, base, scores = _choose(base, names, z, (y, groups), labels, cfg, progress)
    fit = _fit(z, logp if with_prior else None, y, len(labels), cfg, progress)
    name = config.get("name") or "face"
    model = head_model(base.model, fit["head"], fit["mean"], fit["std"], with_prior, name)
    meta = _meta(config, cfg, name, labels, names, fit, base if with_prior else None, scores)
    face_model.write_folder(model, Path(out_dir), meta)
    summary = {
        "model_dir": str(Path(out_dir)),
        "labels": labels,
        "counts": samples.class_counts(),
        "metrics": {"summary": {"train_balanced_accuracy": fit["train_balanced_accuracy"]}},
        "features": names,
        **counts,
        "seconds": round(time.monotonic() - started, 2),
    }
    progress(1.0, f"done: {json.dumps(summary['metrics']['summary'])}")
    return summary


def _choose(base, names, z, rows, labels, cfg: dict, progress):
    """A new task's networks, chosen by cross-validation: (names, their features, the features
    classifier that computes them, {candidate: score}). ``rows``: (labels, image of each row)."""
    blocks = _blocks(z, names)
    chosen, scores = choose_features(blocks, *rows, len(labels), float(cfg["l2"]))
    if chosen != names:
        names, z = chosen, np.concatenate([blocks[n] for n in chosen], axis=1)
        base = _features_classifier(names, labels)
    progress(
        0.82,
        f"features: {', '.join(names)} (cross-validated balanced accuracy {scores or 'n/a'})",
    )
    return names, z, base, scores


def _fit(z, logp, y, n_classes: int, cfg: dict, progress) -> dict:
    """The head fitted on standardised features (with the deployed model's log-probabilities as
    prior when ``logp`` is given), the standardisation, and its balanced accuracy on ``z``."""
    mean, std = z.mean(axis=0), z.std(axis=0) + 1e-6
    progress(0.85, f"fitting the head on {len(y)} feature vectors")
    head = fit_head(
        (z - mean) / std,
        y,
        n_classes,
        logp,
        float(cfg["l2"]),
        balanced_weights(y, n_classes),
        float(cfg["prior_l2"]),
    )
    logits = (z - mean) / std @ head["W"] + head["b"]
    if logp is not None:
        logits = logits + head["a"] * logp
    accuracy = _balanced_accuracy(y, logits.argmax(axis=1), n_classes)
    return {"head": head, "mean": mean, "std": std, "train_balanced_accuracy": accuracy}


def _meta(config, cfg, name, labels, names, fit, parent, scores) -> dict:
    """What the folder's meta.json says of the head (``parent``: the deployed model it corrects)."""
    head = fit["head"]
    if parent is not None:
        decision = f"the deployed model's answer (weight {head['a']:.2f}) corrected by a head on its own features"
    else:
        decision = f"a softmax head on the pooled features of the {', '.join(names)} network(s)"
    return {
        "name": name,
        "labels": labels,
        "config": {**config, "face": {**cfg, "start_from": None, "networks": names}},
        "decision": decision,
        "parent_decision": parent.meta.get("decision") if parent is not None else None,
        "head": {
            "prior_weight": head["a"],
            "l2": float(cfg["l2"]),
            "prior_l2": float(cfg["prior_l2"]),
            "feature_size": int(fit["mean"].shape[0]),
            "feature_choice": scores,
        },
    }


def _features_classifier(names, labels) -> face_model.FaceClassifier:
    """A face 'classifier' that only computes the named networks' features (a head's input)."""
    return face_model.FaceClassifier(
        face_model.features_model(names), {"labels": labels, "chips": face_model.chip_specs(names)}
    )
