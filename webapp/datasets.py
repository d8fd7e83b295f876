"""A task's labelled images: imported examples plus feedback resolved by vote, and its holdout."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from .extensions import db
from .models import Feedback, HoldoutItem, Image, Task, TrainingExample
from .services import storage

HOLDOUT_SHARE = 0.2


@dataclass
class Labelled:
    """One image with the label the data says it has."""

    image: Image
    label: str
    source: str
    votes: dict[str, int] = field(default_factory=dict)
    verified: bool = False


def _feedback_votes(task: Task) -> dict[int, Counter]:
    """Per image, the votes for each label: one vote per client (its latest), rejected ones dropped."""
    latest: dict[tuple[int, str], Feedback] = {}
    rows = db.session.scalars(db.select(Feedback).where(Feedback.task_id == task.id, Feedback.review != "rejected")
                              .order_by(Feedback.id))
    for fb in rows:
        latest[(fb.image_id, fb.client)] = fb
    votes: dict[int, Counter] = defaultdict(Counter)
    for (image_id, _), fb in latest.items():
        votes[image_id][fb.label] += 1
    return votes


def _verified(task: Task) -> dict[int, str]:
    """Labels an admin verified in the review queue (the newest verdict per image)."""
    rows = db.session.scalars(db.select(Feedback).where(Feedback.task_id == task.id, Feedback.review == "verified")
                              .order_by(Feedback.reviewed_at, Feedback.id))
    return {fb.image_id: fb.label for fb in rows}


def labelled_images(task: Task) -> list[Labelled]:
    """Every image of `task` with a label: verified > imported > majority of feedback votes (ties dropped)."""
    verified, votes = _verified(task), _feedback_votes(task)
    out: dict[int, Labelled] = {}
    for ex in db.session.scalars(db.select(TrainingExample).where(TrainingExample.task_id == task.id)):
        out[ex.image_id] = Labelled(ex.image, ex.label, f"import:{ex.source}")
    for image_id, counter in votes.items():
        ranked = counter.most_common()
        if image_id not in out and (len(ranked) == 1 or ranked[0][1] > ranked[1][1]):
            out[image_id] = Labelled(db.session.get(Image, image_id), ranked[0][0], "feedback")
        if image_id in out:
            out[image_id].votes = dict(counter)
    for image_id, label in verified.items():
        item = out.setdefault(image_id, Labelled(db.session.get(Image, image_id), label, "feedback"))
        item.label, item.verified = label, True
    return [out[k] for k in sorted(out)]


def holdout(task: Task, items: list[Labelled]) -> dict[int, str]:
    """The task's holdout {image_id: label}: verified labels once any exist, else a frozen split."""
    verified = {x.image.id: x.label for x in items if x.verified}
    if verified:
        return verified
    rows = db.session.scalars(db.select(HoldoutItem).where(HoldoutItem.task_id == task.id)).all()
    if not rows:
        rows = _freeze_split(task, items)
    return {r.image_id: r.label for r in rows}


def _freeze_split(task: Task, items: list[Labelled]) -> list[HoldoutItem]:
    """Pick a stratified share of the current data as the holdout and keep it for good."""
    by_label: dict[str, list[Labelled]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    rng = random.Random(f"holdout:{task.name}")
    rows = []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda x: x.image.sha256)
        rng.shuffle(group)
        for item in group[:max(1, round(len(group) * HOLDOUT_SHARE))] if len(group) >= 3 else []:
            rows.append(HoldoutItem(task_id=task.id, image_id=item.image.id, label=item.label, source="split"))
    db.session.add_all(rows)
    db.session.commit()
    return rows


def write_folder(items: list[Labelled], root: Path) -> Counter:
    """Write images as root/<label>/<image id>.<ext> (the folder-per-label layout); counts per label."""
    counts: Counter = Counter()
    for item in items:
        ext = "jpg" if item.image.format == "jpeg" else item.image.format
        path = root / item.label / f"{item.image.id}.{ext}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(storage().get(item.image.storage_key))
        counts[item.label] += 1
    return counts
