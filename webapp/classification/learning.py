"""Which labels teach the model most, and how many more a task needs before a retrain is likely promoted.

The review queue's ``informative`` order ranks a pending label by how much verifying it is worth:
the deployed model's doubt about the user's label (1 - the probability it gave that label when
the photo was classified: 0.5 for a coin toss, near 1 when it firmly said otherwise, so wrong
labels and hard photos come first) plus the disagreement between the people who labelled the
same photo. Measured in ``bench/loop.py`` (5 seeds): verifying 16 of 80 user labels (15 of them
wrong on average) in this order found 12.8 of the wrong ones, at random 3.6.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from ml.common.stats import ALPHA, binomial_tail
from webapp.classification import datasets, faces, retrain, voters
from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.tables import Feedback, HoldoutItem, Task

ORDERS = ("oldest", "informative")
# Accuracy on 40 held-out photos against the number of training labels for the default config
# (bench/loop.py, LFW face / non-face, the worst of 5 seeds per point: a pessimistic curve).
LEARNING_CURVE = ((20, 0.975), (40, 0.975), (80, 0.975), (160, 0.975))
MAX_ESTIMATE = 5000  # labels: beyond this the estimate says "unknown"


def _doubt(fb: Feedback) -> float:
    """1 - the model's probability for the user's label on the face they named (0.5 when no
    model answered that face)."""
    face = faces.find(fb.classification, fb.face)
    if face is not None:
        probs = face.get("probabilities") or {}
    else:  # a photo model (the whole photo is the answer), or no face was found
        probs = (fb.classification.probabilities or {}) if fb.face == 0 else {}
    return 0.5 if fb.label not in probs else round(1.0 - float(probs[fb.label]), 4)


def _disagreement(task_id: int, image_ids: set[int]) -> dict[int, float]:
    """Per image, 0 when every voter gave the same label, up to 1 when the votes split evenly."""
    votes: dict[int, Counter] = defaultdict(Counter)
    for (image_id, _), label in datasets.latest_votes(task_id, image_ids).items():
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
        out[fb.id] = {
            "score": round(doubt + disagreement, 4),
            "doubt": doubt,
            "disagreement": disagreement,
        }
    return out


def _label_counts(task: Task, items: list[datasets.Labelled] | None = None) -> Counter:
    """Images per label the next retrain can use: exactly what it would train and hold out on."""
    items = datasets.labelled_images(task) if items is None else items
    return Counter(item.label for item in items)


def curve_accuracy(n_train: int, n_labels: int) -> float:
    """The learning curve at ``n_train`` labels: linear from chance at 0 to the first point, flat after the last."""
    chance, (n0, a0) = 1.0 / n_labels, LEARNING_CURVE[0]
    if n_train <= n0:
        return chance + (a0 - chance) * max(0, n_train) / n0
    points = [p for p in LEARNING_CURVE if p[0] <= n_train]
    return points[-1][1]


def expected_p_value(accuracy: float, holdout: int, n_labels: int) -> float:
    """One-sided exact McNemar p of a model of ``accuracy`` against the majority class on a balanced holdout.

    Expected discordant images: the model alone right on the baseline's misses, the baseline alone
    right where the model errs (rounded against the model).
    """
    only_model = math.floor(accuracy * holdout * (1 - 1 / n_labels))
    only_baseline = math.ceil((1 - accuracy) * holdout / n_labels)
    return binomial_tail(only_model, only_model + only_baseline)


def _first_model_labels(have: int, frozen: int, n_labels: int) -> int | None:
    """Fewest labels in all with which a first model is expected to pass the gate, or None."""
    for total in range(max(have, 2 * n_labels), MAX_ESTIMATE):
        holdout = frozen or round(datasets.HOLDOUT_SHARE * total)
        if expected_p_value(curve_accuracy(total - holdout, n_labels), holdout, n_labels) < ALPHA:
            return total
    return None


def labels_needed(task: Task, items: list[datasets.Labelled] | None = None) -> dict:
    """How many more labels before a retrain is likely promoted, with the reasoning in words; a
    warning instead of "likely promoted" while user labels contradict the trusted ones. `items`:
    the task's `datasets.labelled_images`, when the caller has them already."""
    estimate = _labels_needed(task, items)
    warning = voters.conflict_warning(voters.conflicts(task))
    estimate["likely_promoted"] = estimate["needed"] == 0 and warning is None
    if warning:
        estimate["warning"] = (
            "A retrain now is likely refused or learns wrong labels: "
            + warning[0].upper()
            + warning[1:]
        )
    return estimate


def _labels_needed(task: Task, items: list[datasets.Labelled] | None = None) -> dict:
    counts = _label_counts(task, items)
    have, n_labels = sum(counts.get(label, 0) for label in task.labels), len(task.labels)
    # the gate's floor: MIN_PER_LABEL per label outside a 20% holdout, and 3 per label to hold out one
    per_label = max(3, math.ceil(retrain.MIN_PER_LABEL / (1 - datasets.HOLDOUT_SHARE)))
    floor = sum(max(0, per_label - counts.get(label, 0)) for label in task.labels)
    frozen = db.session.scalar(
        db.select(db.func.count(HoldoutItem.id)).where(HoldoutItem.task_id == task.id)
    )
    mv = registry.deployed(task.name)
    if mv is None:
        total = _first_model_labels(have, frozen, n_labels)
        if total is None:
            return {
                "have": have,
                "needed": None,
                "explanation": "The holdout is too small for any model to show it "
                "beats the majority-class baseline; verify more labels so the holdout grows.",
            }
        holdout = frozen or round(datasets.HOLDOUT_SHARE * total)
        return {
            "have": have,
            "needed": max(floor, total - have),
            "explanation": (
                f"A first model is promoted when it is significantly better than always answering the commonest "
                f"label, on a holdout of about a fifth of the labels (paired test, p < {ALPHA}). On the learning curve "
                f"measured for the default model (bench/loop.py, face / non-face, worst seed) that takes about {total} "
                f"labels: {total - holdout} to train on and {holdout} held out. Harder tasks need more."
            ),
        }
    trained_on = sum((mv.data_counts or {}).get("train", {}).values())
    have_train = max(0, have - frozen)
    return {
        "have": have,
        "needed": max(floor, trained_on - have_train),
        "explanation": (
            f"A retrain is refused only if it is worse than {mv.version} on the same holdout. Along the measured "
            f"learning curve accuracy does not fall as labels grow, so a retrain on at least the {trained_on} "
            f"labels {mv.version} learned from (you have {have_train} outside the holdout) is likely promoted; "
            f"more labels are what make it better."
        ),
    }
