"""Retraining a task's classifier from imported data and feedback, behind a promotion gate.

The candidate and the deployed model are judged on the same holdout: trusted labels only
(admin-verified, or a frozen split of imported data) whenever any exist; the result says what
the holdout is made of. The candidate goes live only if it is not worse
by the task's metric; the very first model must beat the majority-class baseline.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from flask import current_app

from . import datasets, registry
from .errors import ApiError
from .extensions import db
from .jobs.runner import JobCancelled, JobContext, workdir, handler
from .models import Job, ModelVersion, Task
from .services import saving

MIN_PER_LABEL = 4
SUMMARY_KEYS = ("n", "accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc")


def _summary(metrics: dict) -> dict:
    return {k: metrics.get(k) for k in SUMMARY_KEYS}


def _check_counts(task: Task, train: Counter, hold: Counter) -> None:
    short = [label for label in task.labels if train[label] < MIN_PER_LABEL]
    if short:
        raise ValueError(f"Not enough labelled images to train {task.name!r}: need at least {MIN_PER_LABEL} "
                         f"per label outside the holdout, have {dict(train)} (holdout {dict(hold)}). "
                         "Import data or collect more feedback.")
    if sum(hold.values()) == 0:
        raise ValueError(f"The holdout of {task.name!r} is empty; import or label a few more images.")


def _decide(task: Task, candidate: dict, current: ModelVersion | None, compared: dict) -> tuple[bool, str]:
    metric = task.metric
    new, old = candidate.get(metric), compared.get(metric)
    if new is None or old is None:
        return False, f"{metric} could not be computed on the holdout"
    if current is None:
        ok = new > old
        return ok, (f"first model: {metric} {new:.3f} beats the majority-class baseline {old:.3f}" if ok else
                    f"first model: {metric} {new:.3f} does not beat the majority-class baseline {old:.3f}")
    ok = new >= old
    return ok, (f"{metric} {new:.3f} is not worse than deployed {current.version}'s {old:.3f}" if ok else
                f"{metric} {new:.3f} is worse than deployed {current.version}'s {old:.3f}; {current.version} stays")


def _majority_baseline(hold: Counter) -> dict:
    return {"accuracy": max(hold.values()) / sum(hold.values()), "n": sum(hold.values()), "baseline": "majority"}


def _train(task: Task, job: Job, ctx: JobContext, train_dir: Path, out_dir: Path) -> dict:
    from ml import train as ml_train

    config = task.config or current_app.config["TRAIN_CONFIG"]
    overrides = {"data.labels": list(task.labels), "data.test_fraction": 0.0,
                 "preprocessing.face_crop": bool(task.face_crop)}
    try:
        return ml_train.train(config, train_dir, out_dir, progress=lambda f, m: ctx.progress(0.1 + 0.75 * f, m),
                              should_stop=ctx.should_stop, seed=0, **overrides)
    except ml_train.Cancelled:
        raise JobCancelled() from None


def retrain_task(task: Task, job: Job, ctx: JobContext) -> dict:
    """Train a candidate for `task`, judge it against the deployed model, promote or refuse."""
    from ml import data as ml_data
    from ml import evaluate as ml_evaluate

    disputed: list[int] = []
    items = datasets.labelled_images(task, disputed)
    hold_items = datasets.holdout(task, items)
    holdout_info = datasets.composition(hold_items)
    if not holdout_info["trusted"]:
        ctx.log(holdout_info["warning"])
    hold_ids = {x.image.id for x in hold_items}
    train_items = [x for x in items if x.image.id not in hold_ids]
    with workdir(job.id) as tmp:
        ctx.progress(0.02, f"exporting {len(train_items)} training and {len(hold_items)} holdout images")
        train_counts = datasets.write_folder(train_items, tmp / "train")
        hold_counts = datasets.write_folder(hold_items, tmp / "holdout")
        try:
            _check_counts(task, train_counts, hold_counts)
        except ValueError as exc:
            if not disputed:
                raise
            raise ValueError(f"{exc} {len(disputed)} images were left out because their votes disagree: "
                             "verify some in the review queue.") from None
        _train(task, job, ctx, tmp / "train", tmp / "model")
        ctx.progress(0.88, "evaluating the candidate and the deployed model on the holdout")
        samples = ml_data.read_folder(tmp / "holdout", list(task.labels), 0.0, 0.0)
        candidate = ml_evaluate.evaluate(tmp / "model", samples, tmp / "model" / "holdout")
        current = registry.deployed(task.name)
        compared = (ml_evaluate.evaluate(registry.local_dir(current), samples) if current
                    else _majority_baseline(hold_counts))
        promoted, reason = _decide(task, candidate, current, compared)
        counts = {"train": dict(train_counts), "holdout": dict(hold_counts),
                  "feedback_labels": sum(1 for x in train_items if x.source == "feedback"),
                  "disputed_left_out": len(disputed)}
        with saving() as new_keys:
            mv = registry.register_version(task.name, "classifier", tmp / "model", new_keys,
                                           metrics={**_summary(candidate), "holdout": candidate},
                                           config=None, data_counts=counts, parent_id=current.id if current else None,
                                           created_by=job.created_by, job_id=job.id)
        ctx.log(f"registered {mv.version}: {reason}")
    if promoted:
        try:
            registry.promote(task.name, mv.version, actor=job.created_by or "retrain", action="auto", reason=reason)
            db.session.commit()
        except ApiError as exc:
            promoted, reason = False, exc.message
    return {"model_version": mv.version, "metrics": _summary(candidate), "promoted": promoted, "reason": reason,
            "compared_with": {"model_version": current.version if current else None, "metrics": _summary(compared)},
            "data_counts": counts, "holdout": holdout_info}


@handler("retrain")
def run_retrain(job: Job, ctx: JobContext) -> dict:
    """Dispatch a retrain job to its target's trainer."""
    task = db.session.scalar(db.select(Task).where(Task.name == job.target))
    if task is not None:
        return retrain_task(task, job, ctx)
    from .style_retrain import retrain_style

    return retrain_style(job.target, job, ctx)
