"""The task model kinds' serving half: retraining a task's model (a trainable classifier or a
face model) from imported data and feedback behind a promotion gate, and the two kinds' plugins
(`ModelKindPlugin`, registered by `webapp.wiring`). `webapp.style.retrain` plays the same role for
the style models.

The candidate and the deployed model are judged on the same holdout: trusted labels only
(admin-verified, or a frozen split of imported data) whenever any exist; the result says what
the holdout is made of. They are compared image by image: a paired test (exact McNemar) on
the images exactly one of them gets right. The very first model must be significantly better
than the majority-class baseline; a later one must not be significantly worse than the
deployed one. A few dozen holdout images cannot show a small gain, so a first model that is
only slightly above the baseline is refused until there is more labelled data.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import numpy as np
from flask import current_app

from ml import kinds as ml_kinds
from ml.common.stats import ALPHA, mcnemar_exact
from webapp.classification import datasets, guard, shares, voters, wording
from webapp.extensions import db
from webapp.jobs.runner import JobCancelled, JobContext
from webapp.registry import versions as registry
from webapp.registry.model_kinds import Candidate, ModelKindPlugin
from webapp.tables import Feedback, Job, ModelVersion, Task

MIN_PER_LABEL = 4
THRESHOLD_GAP = 0.1  # accuracy this far below the best-threshold accuracy flags a threshold problem
SUMMARY_KEYS = (
    "n",
    "accuracy",
    "precision_macro",
    "recall_macro",
    "f1_macro",
    "roc_auc",
    "best_threshold_accuracy",
)


def _summary(metrics: dict) -> dict:
    return {k: metrics.get(k) for k in SUMMARY_KEYS}


def _check_counts(task: Task, train: Counter, hold: Counter) -> None:
    short = [label for label in task.labels if train[label] < MIN_PER_LABEL]
    if short:
        raise ValueError(
            f"Not enough labelled images to train {task.name!r}: need at least {MIN_PER_LABEL} "
            f"per label outside the holdout, have {dict(train)} (holdout {dict(hold)}). "
            "Import data or collect more feedback."
        )
    if sum(hold.values()) == 0:
        raise ValueError(
            f"The holdout of {task.name!r} is empty; import or label a few more images."
        )


def paired_gate(candidate_right, compared_right, first: bool) -> tuple[bool, dict]:
    """The promotion decision from per-image right/wrong of the candidate and of what it is compared with.

    A first model must be significantly better than the majority-class baseline; a later one
    must not be significantly worse than the deployed one (exact McNemar, one-sided, ALPHA).
    """
    test = {
        **mcnemar_exact(candidate_right, compared_right, "better" if first else "worse"),
        "alpha": ALPHA,
    }
    significant = test["p_value"] < ALPHA
    return (significant if first else not significant), test


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _reason(
    task: Task,
    promoted: bool,
    test: dict,
    candidate: dict,
    compared: dict,
    current: ModelVersion | None,
) -> str:
    """One sentence an admin can act on: the verdict, the metric, and the test behind it."""
    metric = task.metric
    versus = f"deployed {current.version}" if current else "the majority-class baseline"
    evidence = (
        f"{metric} {_fmt(candidate.get(metric))} vs {_fmt(compared.get(metric))}; of {test['n']} holdout "
        f"images it alone gets {test['candidate_only_right']} right, {versus} alone "
        f"{test['compared_only_right']}; exact McNemar one-sided p={test['p_value']:.3g} "
        f"{'<' if test['p_value'] < ALPHA else '>='} {ALPHA}"
    )
    if current is None:
        verdict = "significantly better than" if promoted else "not significantly better than"
        advice = "" if promoted else "; label more images (a larger holdout shows smaller gains)"
        return f"first model: {verdict} {versus} ({evidence}){advice}"
    verdict = "not significantly worse than" if promoted else "significantly worse than"
    return f"{verdict} {versus} ({evidence})" + ("" if promoted else f"; {current.version} stays")


def threshold_warnings(metrics: dict) -> list[str]:
    """A warning when the model ranks the holdout well but its decisions are far worse than its scores allow."""
    best, accuracy = metrics.get("best_threshold_accuracy"), metrics.get("accuracy")
    if best is None or accuracy is None or best - accuracy < THRESHOLD_GAP:
        return []
    return [
        f"threshold problem: accuracy {accuracy:.3f} is far below the {best:.3f} the same scores reach with "
        f"the best threshold (ROC-AUC {_fmt(metrics.get('roc_auc'))}): the model ranks images well but decides "
        "badly; its preprocessing or batch-norm statistics differ between training and serving"
    ]


def _majority(y_true: np.ndarray, labels: list[str]) -> tuple[np.ndarray, dict]:
    """Per-image right/wrong and the metrics of always answering the holdout's most common label."""
    from ml.classify.evaluate import metrics_from_predictions

    majority = int(np.bincount(y_true, minlength=len(labels)).argmax())
    metrics = metrics_from_predictions(
        y_true, np.eye(len(labels))[np.full(len(y_true), majority)], labels
    )
    return y_true == majority, {**metrics, "baseline": "majority"}


def feature_cache_dir() -> Path:
    """Where retrains keep backbone features of images they have seen (by content hash), per worker machine."""
    return Path(current_app.config["MODEL_CACHE_DIR"]) / "features"


def resolve_config(config: str) -> str:
    """A task's config: a path, or the name of a file in ml/configs (how migrations name them)."""
    path = Path(config)
    if path.is_absolute() or path.exists() or "/" in config:
        return config
    from ml.classify.classifier import CONFIG_DIR

    return str(CONFIG_DIR / config)


def _classifier_overrides(task: Task, current: ModelVersion | None) -> dict:
    """A trainable classifier learns from every image outside the holdout, cropped as the task says."""
    return {
        "data.labels": list(task.labels),
        "data.test_fraction": 0.0,
        "preprocessing.face_crop": bool(task.face_crop),
    }


def _face_overrides(task: Task, current: ModelVersion | None) -> dict:
    """A face model is a head on the face networks, from the deployed face model when there is one."""
    same_kind = current is not None and current.kind == ml_kinds.FACE.name
    return {
        "data.labels": list(task.labels),
        "start_from": str(registry.local_dir(current)) if same_kind else None,
    }


# How a task's retrain trains each model kind a task's config may name.
TRAIN_OVERRIDES = {
    ml_kinds.CLASSIFIER.name: _classifier_overrides,
    ml_kinds.FACE.name: _face_overrides,
}


def _train(
    task: Task,
    job: Job,
    ctx: JobContext,
    train_dir: Path,
    out_dir: Path,
    current: ModelVersion | None,
) -> dict:
    from ml import train as ml_train

    config = resolve_config(task.config or current_app.config["TRAIN_CONFIG"])
    model_kind, _ = ml_train.read_kind(config)
    if model_kind not in TRAIN_OVERRIDES:
        raise ValueError(
            f"A task's config must train one of {sorted(TRAIN_OVERRIDES)}; {config} trains {model_kind!r}"
        )
    overrides = TRAIN_OVERRIDES[model_kind](task, current)
    try:
        return ml_train.train(
            config,
            train_dir,
            out_dir,
            progress=lambda f, m: ctx.progress(0.1 + 0.75 * f, m),
            should_stop=ctx.should_stop,
            seed=0,
            feature_cache=feature_cache_dir(),
            **overrides,
        )
    except ml_train.Cancelled:
        raise JobCancelled() from None


def _agreement(model: ModelVersion, samples, y_true, probs) -> float:
    """Share of the holdout images on which `model` answers as the candidate does."""
    from ml import evaluate as ml_evaluate

    their_y, their_probs, _ = ml_evaluate.predict_dir(registry.local_dir(model), samples)
    if not np.array_equal(their_y, y_true):
        raise ValueError(f"{model.version} and the candidate did not read the same holdout images")
    return round(float(np.mean(probs.argmax(axis=1) == their_probs.argmax(axis=1))), 4)


def _judge(
    task: Task, tmp: Path, current: ModelVersion | None, anchor: ModelVersion | None = None
) -> tuple[dict, dict, bool, dict]:
    """Candidate and compared metrics on the holdout, the gate's decision and its test; with an
    `anchor` other than `current`, how often the candidate answers as the anchor does too."""
    from ml import evaluate as ml_evaluate
    from ml.classify import data as ml_data
    from ml.classify.evaluate import metrics_from_predictions, write_report

    samples = ml_data.read_folder(tmp / "holdout", list(task.labels), 0.0, 0.0)
    y_true, probs, labels = ml_evaluate.predict_dir(tmp / "model", samples)
    candidate = write_report(y_true, probs, labels, tmp / "model" / "holdout")
    agreement = None  # share of holdout images where candidate and deployed answer the same
    if current is None:
        compared_right, compared = _majority(y_true, labels)
    else:
        their_y, their_probs, their_labels = ml_evaluate.predict_dir(
            registry.local_dir(current), samples
        )
        if not np.array_equal(their_y, y_true):
            raise ValueError(
                f"{current.version} and the candidate did not read the same holdout images"
            )
        compared_right = their_probs.argmax(axis=1) == their_y
        compared = metrics_from_predictions(their_y, their_probs, their_labels)
        agreement = round(float(np.mean(probs.argmax(axis=1) == their_probs.argmax(axis=1))), 4)
    promoted, test = paired_gate(
        probs.argmax(axis=1) == y_true, compared_right, first=current is None
    )
    candidate["calibration"] = _calibrate(tmp / "model", y_true, probs)
    test["agreement_with_deployed"] = agreement
    test["majority_accuracy"] = round(float(_majority(y_true, labels)[0].mean()), 4)
    if anchor is not None and current is not None:
        test["anchor"] = anchor.version
        test["agreement_with_anchor"] = (
            agreement if anchor.id == current.id else _agreement(anchor, samples, y_true, probs)
        )
    return candidate, compared, promoted, test


def _calibrate(model_dir: Path, y_true, probs) -> dict:
    """Fit the candidate's temperature on the holdout and record it in its meta.json (read when served).

    Temperature scaling keeps every answer's label (so the gate's verdict) and makes the shown
    probabilities honest: a model right 80 % of the time stops saying "100 %".
    """
    from ml.common import modeldir
    from ml.common.calibration import calibration

    found = calibration(y_true, probs)
    meta = modeldir.read_meta(model_dir)
    modeldir.write_meta(model_dir, {**meta, "calibration": found})
    return found


def _task(target: str) -> Task | None:
    return db.session.scalar(db.select(Task).where(Task.name == target))


def _train_candidate(
    task: Task, job: Job, ctx: JobContext, tmp: Path, current: ModelVersion | None
) -> Candidate:
    """Train a candidate for `task` from its labelled images and judge it on the holdout."""
    disputed: list[int] = []
    outcome = voters.Outcome()
    items = datasets.labelled_images(task, disputed, outcome)
    hold_items = datasets.holdout(task, items)
    holdout_info = datasets.composition(hold_items)
    if not holdout_info["trusted"]:
        ctx.log(holdout_info["warning"])
    hold_ids = {x.image.id for x in hold_items}
    train_items = [x for x in items if x.image.id not in hold_ids]
    weights = None
    if current is not None:  # new voters weigh against those the deployed model learned from
        train_items, weights = shares.bound(task, train_items, outcome)
        if weights and weights["unproven_kept"] < weights["unproven"]:
            ctx.log(
                f"{weights['unproven'] - weights['unproven_kept']} labels backed only by voters "
                f"with no record left out (at most {shares.UNPROVEN_SHARE:.0%} of the training data)"
            )
    ctx.progress(
        0.02, f"exporting {len(train_items)} training and {len(hold_items)} holdout images"
    )
    train_counts = datasets.write_folder(train_items, tmp / "train")
    hold_counts = datasets.write_folder(hold_items, tmp / "holdout")
    try:
        _check_counts(task, train_counts, hold_counts)
    except ValueError as exc:
        if not disputed:
            raise
        raise ValueError(
            f"{exc} {len(disputed)} images were left out because their votes disagree: "
            "verify some in the review queue."
        ) from None
    _train(task, job, ctx, tmp / "train", tmp / "model", current)
    ctx.progress(0.88, "evaluating the candidate and the deployed model on the holdout")
    anchor = guard.anchor(task.name) if current is not None else None
    candidate, compared, passed, test = _judge(task, tmp, current, anchor)
    test["holdout_trusted"] = holdout_info["trusted"]
    test["candidate_accuracy"] = candidate.get("accuracy")
    reason, warnings = (
        _reason(task, passed, test, candidate, compared, current),
        threshold_warnings(candidate),
    )
    passed, reason, warnings, held = guard.second_opinion(
        task, current, holdout_info, test, compared, passed, reason, warnings, weights=weights
    )
    for warning in warnings:
        ctx.log(f"warning: {warning}")
    counts = {
        "train": dict(train_counts),
        "holdout": dict(hold_counts),
        "feedback_labels": sum(1 for x in train_items if x.source == "feedback"),
        "disputed_left_out": len(disputed),
        **({"voters": weights} if weights else {}),
    }
    from ml.common.modeldir import read_meta

    return Candidate(
        model_dir=tmp / "model",
        model_kind=read_meta(tmp / "model")["kind"],
        metrics={
            **_summary(candidate),
            "holdout": candidate,
            "gate": test,
            "calibration": candidate.get("calibration"),
            "reliability_text": wording.reliability(candidate.get("calibration")),
        },
        compared=compared,
        passed=passed,
        reason=reason,
        data_counts=counts,
        summary=_summary(candidate),
        compared_summary=_summary(compared),
        extra={
            "gate": test,
            "holdout_size": test["n"],
            "warnings": warnings,
            "held_for_admin": held,
            "holdout": holdout_info,
            "reliability": wording.reliability(candidate.get("calibration")),
        },
    )


class TaskRetrain:
    """The retrain of a classification task's model (a classifier or a face model): trained from
    imported data and feedback, gated by a paired test."""

    name, label = ml_kinds.CLASSIFIER.name, "task"

    def owns(self, target: str) -> bool:
        return _task(target) is not None

    def check_request(self, target: str) -> None:
        return None

    def deployed(self, target: str) -> ModelVersion | None:
        return registry.deployed(target)

    def new_feedback_since(self, target: str, since: dt.datetime | None) -> int:
        query = (
            db.select(db.func.count(Feedback.id))
            .join(Task, Task.id == Feedback.task_id)
            .where(Task.name == target)
        )
        return db.session.scalar(query.where(Feedback.created > since) if since else query)

    def train(
        self, target: str, job: Job, ctx: JobContext, workdir: Path, current: ModelVersion | None
    ) -> Candidate:
        return _train_candidate(_task(target), job, ctx, workdir, current)

    def plain_words(self, result: dict) -> dict:
        """The retrain's outcome in words an admin acts on (the statistics stay in `gate`)."""
        return wording.verdict(result)


TASKS = TaskRetrain()

# The task model kinds' plugins: both retrained as a task; a shipped face task has a pretrained v1.
CLASSIFIER = ModelKindPlugin(ml_kinds.CLASSIFIER, retrain=TASKS)
FACE = ModelKindPlugin(ml_kinds.FACE, retrain=TASKS, ships_v1=True)
