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


def _latest_votes(task: Task) -> dict[tuple[int, str], str]:
    """One vote per (image, client): the client's latest label; rejected feedback dropped."""
    rows = db.session.execute(db.select(Feedback.image_id, Feedback.client, Feedback.label)
                              .where(Feedback.task_id == task.id, Feedback.review != "rejected")
                              .order_by(Feedback.id))
    return {(image_id, client): label for image_id, client, label in rows}


def client_reliability(task: Task, latest: dict[tuple[int, str], str]) -> dict[str, float]:
    """How often each client agreed with the task's trusted labels (holdout / verified), smoothed.

    A client who contradicts the trusted labels carries little weight when votes disagree, so one
    client relabelling everything cannot outvote honest people.
    """
    trusted = {r.image_id: r.label for r in db.session.scalars(
        db.select(HoldoutItem).where(HoldoutItem.task_id == task.id))}
    trusted.update(_verified(task))
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (image_id, client), label in latest.items():
        if image_id in trusted:
            hits[client][0] += label == trusted[image_id]
            hits[client][1] += 1
    return {client: (agree + 1) / (seen + 2) for client, (agree, seen) in hits.items()}


def _feedback_votes(task: Task) -> tuple[dict[int, Counter], dict[int, Counter]]:
    """Per image, the reliability-weighted votes for each label and the plain counts (one per client)."""
    latest = _latest_votes(task)
    weight = client_reliability(task, latest)
    weighted: dict[int, Counter] = defaultdict(Counter)
    counts: dict[int, Counter] = defaultdict(Counter)
    for (image_id, client), label in latest.items():
        weighted[image_id][label] += weight.get(client, 0.5)
        counts[image_id][label] += 1
    return weighted, counts


def _verified(task: Task) -> dict[int, str]:
    """Labels an admin verified in the review queue (the newest verdict per image)."""
    rows = db.session.scalars(db.select(Feedback).where(Feedback.task_id == task.id, Feedback.review == "verified")
                              .order_by(Feedback.reviewed_at, Feedback.id))
    return {fb.image_id: fb.label for fb in rows}


def labelled_images(task: Task) -> list[Labelled]:
    """Every image of `task` with a label: verified > imported > majority of feedback votes (ties dropped)."""
    verified, (votes, counts) = _verified(task), _feedback_votes(task)
    out: dict[int, Labelled] = {}
    for ex in db.session.scalars(db.select(TrainingExample).where(TrainingExample.task_id == task.id)):
        out[ex.image_id] = Labelled(ex.image, ex.label, f"import:{ex.source}")
    for image_id, counter in votes.items():
        ranked = counter.most_common()
        if image_id not in out and (len(ranked) == 1 or ranked[0][1] > ranked[1][1] + 1e-9):
            out[image_id] = Labelled(db.session.get(Image, image_id), ranked[0][0], "feedback")
        if image_id in out:
            out[image_id].votes = dict(counts[image_id])
    for image_id, label in verified.items():
        item = out.setdefault(image_id, Labelled(db.session.get(Image, image_id), label, "feedback"))
        item.label, item.verified = label, True
    return [out[k] for k in sorted(out)]


def holdout(task: Task, items: list[Labelled]) -> list[Labelled]:
    """The task's holdout: the split frozen at the first retrain plus every verified label.

    Its labels are the trusted ones (an admin's verdict wins), whatever later votes say about the
    same images. Unreviewed feedback never enters it.
    """
    rows = db.session.scalars(db.select(HoldoutItem).where(HoldoutItem.task_id == task.id)).all()
    if not rows:
        rows = _freeze_split(task, [x for x in items if not x.verified])
    held = {r.image_id: Labelled(r.image, r.label, "holdout") for r in rows}
    for item in items:
        if item.verified:
            held[item.image.id] = item
    return list(held.values())


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
