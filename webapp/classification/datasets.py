"""A task's labelled images: imported examples plus feedback resolved by vote, and its holdout.

Trust: imported data and admin-verified labels (including an admin's own feedback) are trusted;
unreviewed feedback is not. A voter is a client address, with one vote per image (its latest).
Images whose votes tie or nearly tie are disputed and left out of training.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from webapp.extensions import db
from webapp.models import Feedback, HoldoutItem, Image, Task, TrainingExample
from webapp.storage.service import storage

HOLDOUT_SHARE = 0.2
AGREEMENT = 2 / 3  # share of the (weighted) votes the winning label needs; less is a dispute
UNTRUSTED_WARNING = (
    "No trusted labels yet (imported data or admin-verified labels): this holdout is unreviewed "
    "user feedback, which anyone could have poisoned. Verify a sample of labels in the review "
    "queue (/admin/review) before trusting this comparison."
)


@dataclass
class Labelled:
    """One image with the label the data says it has."""

    image: Image
    label: str
    source: str
    votes: dict[str, int] = field(default_factory=dict)
    verified: bool = False

    @property
    def trusted(self) -> bool:
        """Imported data or an admin's verdict, never unreviewed feedback alone."""
        return self.verified or self.source != "feedback"

    @property
    def kind(self) -> str:
        """Where the label comes from, as the retrain result reports it."""
        if self.verified:
            return "admin_verified"
        return "unreviewed_feedback" if self.source == "feedback" else "imported"


def latest_votes(task_id: int, image_ids: set[int] | None = None) -> dict[tuple[int, str], str]:
    """One vote per (image, client): the client's latest label; rejected feedback dropped.

    Restricted to `image_ids` when given. The one definition of a vote: the retrain's labels and
    the review queue's disagreement both count these.
    """
    query = (
        db.select(Feedback.image_id, Feedback.client, Feedback.label)
        .where(Feedback.task_id == task_id, Feedback.review != "rejected")
        .order_by(Feedback.id)
    )
    if image_ids is not None:
        query = query.where(Feedback.image_id.in_(image_ids))
    return {(image_id, client): label for image_id, client, label in db.session.execute(query)}


def client_reliability(task: Task, latest: dict[tuple[int, str], str]) -> dict[str, float]:
    """How often each client agreed with the task's trusted labels (imported / verified), smoothed.

    A client who contradicts the trusted labels carries little weight when votes disagree, so one
    client relabelling everything cannot outvote honest people.
    """
    trusted = dict(
        db.session.execute(
            db.select(TrainingExample.image_id, TrainingExample.label).where(
                TrainingExample.task_id == task.id
            )
        ).all()
    )
    trusted.update(_verified(task))
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (image_id, client), label in latest.items():
        if image_id in trusted:
            hits[client][0] += label == trusted[image_id]
            hits[client][1] += 1
    return {client: (agree + 1) / (seen + 2) for client, (agree, seen) in hits.items()}


def _feedback_votes(task: Task) -> tuple[dict[int, Counter], dict[int, Counter]]:
    """Per image, the reliability-weighted votes for each label and the plain counts (one per client)."""
    latest = latest_votes(task.id)
    weight = client_reliability(task, latest)
    weighted: dict[int, Counter] = defaultdict(Counter)
    counts: dict[int, Counter] = defaultdict(Counter)
    for (image_id, client), label in latest.items():
        weighted[image_id][label] += weight.get(client, 0.5)
        counts[image_id][label] += 1
    return weighted, counts


def _verified(task: Task) -> dict[int, str]:
    """Labels an admin verified in the review queue (the newest verdict per image)."""
    rows = db.session.scalars(
        db.select(Feedback)
        .where(Feedback.task_id == task.id, Feedback.review == "verified")
        .order_by(Feedback.reviewed_at, Feedback.id)
    )
    return {fb.image_id: fb.label for fb in rows}


def _clear_winner(counter: Counter) -> str | None:
    """The label holding at least AGREEMENT of the votes, or None when the image is disputed."""
    ranked, total = counter.most_common(), sum(counter.values())
    if not ranked or total <= 0:
        return None
    return ranked[0][0] if ranked[0][1] >= AGREEMENT * total - 1e-9 else None


def labelled_images(task: Task, disputed: list[int] | None = None) -> list[Labelled]:
    """Every image of `task` with a label: verified > imported > a clear majority of feedback votes.

    Images whose votes tie or nearly tie are left out (their ids appended to `disputed`).
    """
    verified, (votes, counts) = _verified(task), _feedback_votes(task)
    examples = db.session.scalars(
        db.select(TrainingExample).where(TrainingExample.task_id == task.id)
    ).all()
    # every image of the task in one query (subqueries: no bound parameter per image), not one per photo
    imported = db.select(TrainingExample.image_id).where(TrainingExample.task_id == task.id)
    labelled = db.select(Feedback.image_id).where(Feedback.task_id == task.id)
    images = {
        image.id: image
        for image in db.session.scalars(
            db.select(Image).where(Image.id.in_(imported) | Image.id.in_(labelled))
        )
    }
    out: dict[int, Labelled] = {}
    for ex in examples:
        out[ex.image_id] = Labelled(images[ex.image_id], ex.label, f"import:{ex.source}")
    for image_id, counter in votes.items():
        winner = _clear_winner(counter)
        if image_id not in out and winner is not None:
            out[image_id] = Labelled(images[image_id], winner, "feedback")
        elif image_id not in out and image_id not in verified and disputed is not None:
            disputed.append(image_id)
        if image_id in out:
            out[image_id].votes = dict(counts[image_id])
    for image_id, label in verified.items():
        if image_id not in out:
            out[image_id] = Labelled(images[image_id], label, "feedback")
        out[image_id].label, out[image_id].verified = label, True
    return [out[k] for k in sorted(out)]


def holdout(task: Task, items: list[Labelled]) -> list[Labelled]:
    """The task's holdout, from trusted labels only whenever any exist.

    Trusted: a split of the imported data frozen at the first retrain (nobody can change it
    afterwards) plus every admin-verified label. Only when no trusted label exists at all is a
    deterministic share of the feedback used, never frozen, and `composition` says so.
    """
    trusted = {x.image.id: x for x in items if x.trusted}
    if not trusted:
        return _split(task, items)
    rows = [
        r
        for r in db.session.scalars(db.select(HoldoutItem).where(HoldoutItem.task_id == task.id))
        if r.image_id in trusted
    ]  # rows frozen from feedback by older versions no longer count
    if not rows:
        imported = [x for x in trusted.values() if not x.verified]
        rows = [
            HoldoutItem(task_id=task.id, image_id=x.image.id, label=x.label)
            for x in _split(task, imported)
        ]
        db.session.add_all(rows)
        db.session.commit()
    held = {r.image_id: Labelled(r.image, r.label, "import:holdout") for r in rows}
    for item in trusted.values():
        if item.verified:
            held[item.image.id] = item
    return list(held.values())


def composition(items: list[Labelled]) -> dict:
    """What a holdout is made of: its size, label counts, label sources and whether it is trusted."""
    trusted = bool(items) and all(x.trusted for x in items)
    out = {
        "n": len(items),
        "trusted": trusted,
        "labels": dict(Counter(x.label for x in items)),
        "sources": dict(Counter(x.kind for x in items)),
    }
    if not trusted:
        out["warning"] = UNTRUSTED_WARNING
    return out


def _rank(task: Task, item: Labelled) -> str:
    return hashlib.sha256(f"holdout:{task.name}:{item.image.sha256}".encode()).hexdigest()


def _split(task: Task, items: list[Labelled]) -> list[Labelled]:
    """A stratified share of `items`, chosen by content hash so the same images stay in it."""
    by_label: dict[str, list[Labelled]] = defaultdict(list)
    for item in items:
        by_label[item.label].append(item)
    chosen = []
    for label in sorted(by_label):
        group = sorted(by_label[label], key=lambda x: _rank(task, x))
        chosen += group[: max(1, round(len(group) * HOLDOUT_SHARE))] if len(group) >= 3 else []
    return chosen


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
