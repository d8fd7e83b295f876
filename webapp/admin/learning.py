"""Which labels teach the model most, and how many more a task needs before a retrain is likely promoted.

The review queue's ``informative`` order ranks a pending label by how much verifying it is worth:
the deployed model's doubt about the user's label (1 - the probability it gave that label when
the photo was classified: 0.5 for a coin toss, near 1 when it firmly said otherwise, so wrong
labels and hard photos come first) plus the disagreement between the people who labelled the
same photo. Measured in ``bench/loop.py``: verifying 16 of 80 user labels (20% of them wrong)
in this order found most of the wrong ones, at random about a fifth of them.
"""
from __future__ import annotations

from collections import Counter, defaultdict

from ..extensions import db
from ..models import Feedback, Task, TrainingExample
from .. import registry, retrain

ORDERS = ("oldest", "informative")
# Accuracy on 40 held-out photos against the number of training labels for the default config
# (bench/loop.py, LFW face / non-face: the lowest seed per point, a pessimistic curve).
LEARNING_CURVE = ((20, 0.90), (40, 0.95), (80, 0.975), (160, 0.975))
FIRST_MODEL_MARGIN = 0.05   # a first model must beat the majority baseline: aim this far above it


def _doubt(fb: Feedback) -> float:
    """1 - the deployed model's probability for the user's label (0.5 when no model answered)."""
    probs = fb.classification.probabilities or {}
    return 0.5 if fb.label not in probs else round(1.0 - float(probs[fb.label]), 4)


def _disagreement(task_id: int, image_ids: set[int]) -> dict[int, float]:
    """Per image, 0 when every voter gave the same label, up to 1 when the votes split evenly."""
    rows = db.session.execute(db.select(Feedback.image_id, Feedback.client, Feedback.label)
                              .where(Feedback.task_id == task_id, Feedback.image_id.in_(image_ids),
                                     Feedback.review != "rejected").order_by(Feedback.id)).all()
    latest = {(image_id, client): label for image_id, client, label in rows}
    votes: dict[int, Counter] = defaultdict(Counter)
    for (image_id, _), label in latest.items():
        votes[image_id][label] += 1
    out = {}
    for image_id, counter in votes.items():
        total, top = sum(counter.values()), counter.most_common(1)[0][1]
        out[image_id] = round(2.0 * (1.0 - top / total), 4) if total > 1 else 0.0
    return out


def informativeness(feedback: list[Feedback]) -> dict[int, dict]:
    """Per feedback id: its ``score`` (doubt + disagreement, higher first) and the two parts."""
    by_task: dict[int, set[int]] = defaultdict(set)
    for fb in feedback:
        by_task[fb.task_id].add(fb.image_id)
    split = {}
    for task_id, image_ids in by_task.items():
        split.update({(task_id, k): v for k, v in _disagreement(task_id, image_ids).items()})
    out = {}
    for fb in feedback:
        doubt, disagreement = _doubt(fb), split.get((fb.task_id, fb.image_id), 0.0)
        out[fb.id] = {"score": round(doubt + disagreement, 4), "doubt": doubt, "disagreement": disagreement}
    return out


def _label_counts(task: Task) -> Counter:
    """Images per label the next retrain can use: imported examples plus photos users labelled."""
    counts: Counter = Counter(dict(db.session.execute(
        db.select(TrainingExample.label, db.func.count(TrainingExample.id))
        .where(TrainingExample.task_id == task.id).group_by(TrainingExample.label)).all()))
    imported = set(db.session.scalars(db.select(TrainingExample.image_id).where(TrainingExample.task_id == task.id)))
    latest = dict(db.session.execute(db.select(Feedback.image_id, Feedback.label)
                                     .where(Feedback.task_id == task.id, Feedback.review != "rejected")
                                     .order_by(Feedback.id)).all())
    counts.update(label for image_id, label in latest.items() if image_id not in imported)
    return counts


def labels_needed(task: Task) -> dict:
    """How many more labels before a retrain is likely promoted, with the reasoning in words."""
    counts = _label_counts(task)
    have = sum(counts.get(label, 0) for label in task.labels)
    # the gate: MIN_PER_LABEL per label outside a 20% holdout, and at least 3 per label for the holdout
    per_label = max(3, -(-retrain.MIN_PER_LABEL * 5 // 4))
    floor = sum(max(0, per_label - counts.get(label, 0)) for label in task.labels)
    mv = registry.deployed(task.name)
    deployed = (mv.metrics or {}).get(task.metric) if mv else None
    if mv is None:
        target, against = 1.0 / len(task.labels) + FIRST_MODEL_MARGIN, "the majority-class baseline"
    else:
        target, against = deployed, f"{mv.version}'s holdout {task.metric}"
    reach = next((n for n, acc in LEARNING_CURVE if target is not None and acc >= target), None)
    if target is None or reach is None:
        return {"have": have, "needed": None, "target": target,
                "explanation": f"The measured learning curve tops out at {LEARNING_CURVE[-1][1]:.3f} with "
                               f"{LEARNING_CURVE[-1][0]} labels, below {against}: more labels may not beat it."}
    needed = max(floor, reach - have, 0)
    return {"have": have, "needed": needed, "target": round(target, 4),
            "explanation": f"A retrain is promoted when its holdout {task.metric} is not worse than {against} "
                           f"({target:.3f}), with at least {retrain.MIN_PER_LABEL} labels per label outside the "
                           f"holdout. The default model reached {target:.3f} with {reach} labels on a face / "
                           f"non-face task (bench/loop.py, worst seed); harder tasks need more."}
