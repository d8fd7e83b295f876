"""A task at a glance, as the admin dashboard draws it: feedback over time, the deployed model's
live agreement with user labels, the review backlog, and how many labels are trusted or needed.

"Trusted labels" is `datasets.Labelled.trusted` counted over the task's labelled images (one per
image, as the next retrain sees them), not a count of label rows: two verified labels of one
photo, or a verified label of an imported photo, are one trusted image.

`webapp/admin/overview.py` is its admin API (admin modules are named for the resource they serve).
"""

from __future__ import annotations

import datetime as dt

from webapp.classification import datasets, learning
from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.tables import Classification, Feedback, Task


def _per_day(rows) -> list[dict]:
    days: dict[str, dict] = {}
    for created, agrees in rows:
        entry = days.setdefault(
            created.date().isoformat(), {"day": created.date().isoformat(), "n": 0, "agree": 0}
        )
        entry["n"] += 1
        entry["agree"] += bool(agrees)
    for entry in days.values():
        entry["agreement"] = round(entry["agree"] / entry["n"], 4) if entry["n"] else None
    return sorted(days.values(), key=lambda e: e["day"])


def trusted_labels(items: list[datasets.Labelled]) -> int:
    """How many of a task's labelled images carry a trusted label (`Labelled.trusted`)."""
    return sum(item.trusted for item in items)


def task_overview(task: Task, since: dt.datetime) -> dict:
    """Feedback since `since` and the deployed model's live agreement with user labels."""
    mv = registry.deployed(task.name)
    feedback = db.session.execute(
        db.select(Feedback.created, Feedback.agrees).where(
            Feedback.task_id == task.id, Feedback.created >= since
        )
    ).all()
    live = []
    if mv is not None:
        live = db.session.execute(
            db.select(Feedback.created, Feedback.agrees)
            .join(Classification, Classification.id == Feedback.classification_id)
            .where(
                Classification.model_version_id == mv.id,
                Feedback.agrees.is_not(None),
                Feedback.label.is_not(None),  # "no face here" is not a label to agree with
            )
        ).all()
    pending = db.session.scalar(
        db.select(db.func.count(Feedback.id)).where(
            Feedback.task_id == task.id, Feedback.review == "pending"
        )
    )
    items = datasets.labelled_images(task)
    return {
        "name": task.name,
        "labels": task.labels,
        "model_version": mv.version if mv else None,
        "metrics": {k: v for k, v in (mv.metrics or {}).items() if k != "holdout"} if mv else None,
        "feedback_per_day": [{"day": d["day"], "n": d["n"]} for d in _per_day(feedback)],
        "live_agreement": _per_day(live),
        "feedback_total": len(feedback),
        "pending_review": pending,
        "labels_needed": learning.labels_needed(task, items),
        "trusted_labels": trusted_labels(items),
    }
