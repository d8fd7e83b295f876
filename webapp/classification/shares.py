"""How much of a retrain's training data voters without a record may carry.

A voter with no verified record (no agreement with trusted labels, and no label older than the
deployed model) is *unproven*. Once a model is deployed, the images only unproven voters back
are at most UNPROVEN_SHARE of the training images, and those only crowds back (a burst of new
addresses on new images, `voters.crowds`) at most CROWD_SHARE: eighty fresh addresses buy what a
handful of labels would, whatever they say. Which images stay is chosen by content hash, so the
same ones stay from one retrain to the next. The rest wait for an admin's verification (a
verified label is trusted and always counts).
"""

from __future__ import annotations

import hashlib
import math

from webapp.classification.datasets import Labelled
from webapp.classification.voters import Outcome
from webapp.extensions import db
from webapp.tables import Classification, Task

UNPROVEN_SHARE = 0.2
CROWD_SHARE = 0.1


def _order(item: Labelled) -> str:
    return hashlib.sha256(f"share:{item.image.sha256}".encode()).hexdigest()


def model_answers(task: Task, image_ids: set[int]) -> dict[int, str]:
    """Per image, the label the model deployed at the time answered when it was classified."""
    rows = db.session.execute(
        db.select(Classification.image_id, Classification.label)
        .where(
            Classification.task_id == task.id,
            Classification.model_version_id.is_not(None),
            Classification.label.is_not(None),
        )
        .order_by(Classification.id)
    ).all()
    return {image_id: label for image_id, label in rows if image_id in image_ids}


def bound(task: Task, items: list[Labelled], outcome: Outcome) -> tuple[list[Labelled], dict]:
    """The training items with unproven ones bounded in share, and what was kept and left out."""
    proven = [x for x in items if x.trusted or outcome.proven(x.image.id)]
    crowd = sorted(
        (x for x in items if not x.trusted and outcome.crowd_only(x.image.id)), key=_order
    )
    ids = {x.image.id for x in proven} | {x.image.id for x in crowd}
    others = sorted((x for x in items if x.image.id not in ids), key=_order)
    room = math.floor(len(proven) * UNPROVEN_SHARE / (1 - UNPROVEN_SHARE))
    crowd_room = math.floor(len(proven) * CROWD_SHARE / (1 - UNPROVEN_SHARE))
    if (
        not proven
    ):  # nobody has a record yet (a first model, a shipped one): nothing to weigh against
        room = crowd_room = len(items)
    kept_crowd = crowd[: min(crowd_room, room)]
    kept_others = others[: room - len(kept_crowd)]
    kept = {x.image.id for x in proven + kept_crowd + kept_others}
    unproven = crowd + others
    answers = model_answers(task, {x.image.id for x in unproven})
    behind = {v for x in unproven for v in outcome.backers.get(x.image.id, ())}
    people = sum(len(outcome.crowds.get(v, [v])) for v in behind)
    report = {
        "proven": len(proven),
        "unproven": len(unproven),
        "unproven_voters": people,
        "training": len(kept),
        "unproven_answered": sum(x.image.id in answers for x in unproven),
        "unproven_against_model": sum(
            answers.get(x.image.id, x.label) != x.label for x in unproven
        ),
        "unproven_kept": len(kept_crowd) + len(kept_others),
        "crowd": len(crowd),
        "crowd_kept": len(kept_crowd),
        "crowds": {name: len(members) for name, members in outcome.crowds.items()},
        "share_limit": UNPROVEN_SHARE,
    }
    return [x for x in items if x.image.id in kept], report
