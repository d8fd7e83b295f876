"""A task's labelled images: imported examples plus feedback resolved by vote, and its holdout.

Trust: imported data and admin-verified labels (including an admin's own feedback) are trusted;
unreviewed feedback is not. A voter is every client address and uploader cookie linked through
the task's feedback, with one vote per image (its latest), weighted by their record
(`voters.py`). Images whose votes tie or nearly tie are disputed and left out of training.
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from webapp.classification import voters
from webapp.extensions import db
from webapp.storage.store import storage
from webapp.tables import Feedback, HoldoutItem, Image, Task, TrainingExample

HOLDOUT_SHARE = 0.2
AGREEMENT = voters.AGREEMENT
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
    def provenance(self) -> str:
        """Where the label comes from, as the retrain result reports it."""
        if self.verified:
            return "admin_verified"
        return "unreviewed_feedback" if self.source == "feedback" else "imported"


def latest_votes(task_id: int, image_ids: set[int] | None = None) -> dict[tuple[int, str], str]:
    """One label per (image, voter): the voter's latest; rejected feedback dropped (voters.py:
    a voter is every address and uploader cookie linked through the task's feedback)."""
    return {k: v.label for k, v in voters.latest_votes(task_id, image_ids).items()}


def _verified(task: Task) -> dict[int, str]:
    """Labels an admin verified in the review queue (the newest verdict per image)."""
    rows = db.session.scalars(
        db.select(Feedback)
        .where(
            Feedback.task_id == task.id,
            Feedback.review == "verified",
            Feedback.label.is_not(None),  # "no face here" is never a label of the task
        )
        .order_by(Feedback.reviewed_at, Feedback.id)
    )
    return {fb.image_id: fb.label for fb in rows}


def labelled_images(
    task: Task, disputed: list[int] | None = None, outcome: voters.Outcome | None = None
) -> list[Labelled]:
    """Every image of `task` with a label: verified > imported > a clear weighted majority of votes.

    Images whose votes tie or nearly tie are left out (their ids appended to `disputed`); the
    votes' full verdict (set-aside voters, standings) is copied into `outcome` when given.
    """
    verified, decided = _verified(task), voters.decide(task)
    if outcome is not None:
        outcome.__dict__.update(decided.__dict__)
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
    for image_id, winner in decided.winners.items():
        if image_id not in out:
            out[image_id] = Labelled(images[image_id], winner, "feedback")
    for image_id in decided.disputed:
        if image_id not in out and image_id not in verified and disputed is not None:
            disputed.append(image_id)
    for image_id, label in verified.items():
        if image_id not in out:
            out[image_id] = Labelled(images[image_id], label, "feedback")
        out[image_id].label, out[image_id].verified = label, True
    for image_id, counts in decided.counts.items():
        if image_id in out:
            out[image_id].votes = counts
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
        "sources": dict(Counter(x.provenance for x in items)),
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
