"""The review queue: users' labels waiting for an admin, an admin's verdict on one, and rejecting
every pending label of one voter at once (audited).

Which labels come first in the ``informative`` order is `learning.py`'s; who a voter is, is
`voters.py`'s.

`webapp/admin/review.py` is its admin API (admin modules are named for the resource they serve).
"""

from __future__ import annotations

import re

from sqlalchemy.orm import selectinload

from webapp import retention
from webapp.classification import learning, tasks, voters
from webapp.exceptions import Invalid
from webapp.extensions import db
from webapp.storage.store import storage
from webapp.tables import Classification, Feedback, Image, Task, utcnow

REVIEWS = ("pending", "verified", "rejected")
VERDICTS = ("verified", "rejected")
# The newest pending labels ranked by `informative`; beyond that, oldest first.
INFORMATIVE_POOL = 5000


def queue(
    review: str, order: str, limit: int, task: str | None = None
) -> tuple[list[Feedback], dict[int, dict]]:
    """At most `limit` labels in `review` state (of `task` only, when given), oldest first or most
    informative first, with each one's informativeness by feedback id."""
    query = (
        db.select(Feedback)
        .where(Feedback.review == review)
        .options(  # one query, not one per row
            selectinload(Feedback.classification).selectinload(Classification.task)
        )
    )
    if task:
        query = query.join(Task, Task.id == Feedback.task_id).where(Task.name == task)
    if order == "oldest":
        rows = list(db.session.scalars(query.order_by(Feedback.id).limit(limit)))
        return rows, learning.informativeness(rows)
    pool = list(db.session.scalars(query.order_by(Feedback.id.desc()).limit(INFORMATIVE_POOL)))
    scores = learning.informativeness(pool)
    return sorted(pool, key=lambda fb: (-scores[fb.id]["score"], fb.id))[:limit], scores


def voter_of(rows: list[Feedback]) -> dict[int, str]:
    """Per feedback id, its voter (the addresses and cookies linked to its address), id shortened."""
    names = {tid: voters.task_voters(tid) for tid in {fb.task_id for fb in rows}}
    return {
        fb.id: names[fb.task_id].get((fb.client, fb.classification.owner), fb.client)[:8]
        for fb in rows
    }


def judge(fb: Feedback, verdict: object, label: object, actor: str) -> Feedback:
    """An admin's verdict on a label, optionally correcting it (committed)."""
    if verdict not in VERDICTS:
        raise Invalid("'verdict' must be 'verified' or 'rejected'.")
    labels = fb.classification.task.labels
    if fb.no_face and label is None:  # the verdict on "there is no face here" (never trained on)
        fb.review, fb.reviewed_by, fb.reviewed_at = verdict, actor, utcnow()
        db.session.commit()
        return fb
    if not isinstance(label, str) or label not in labels:
        raise Invalid(f"'label' must be one of {labels}.")
    fb.review, fb.label, fb.reviewed_by, fb.reviewed_at = verdict, label, actor, utcnow()
    fb.no_face = False  # an admin who names the label says there is a face
    db.session.commit()
    return fb


def reject_voter(prefix: object, scope: object, task_name: object, actor: str) -> list[Feedback]:
    """Reject every pending label of the voter (`scope` "voter") or only of the address
    ("address") whose id starts with `prefix`, in one task or all; audited and committed."""
    if not isinstance(prefix, str) or not re.fullmatch(r"[0-9A-Za-z]{8,64}", prefix):
        raise Invalid(
            "'client' must be the 8-character id the review queue shows (client or voter)."
        )
    if scope not in ("voter", "address"):
        raise Invalid("'scope' must be 'voter' (every linked address and cookie) or 'address'.")
    if task_name is not None and not isinstance(task_name, str):
        raise Invalid("'task' must be a task name (text), or left out for every task.")
    task_id = None
    if task_name is not None:
        task_id = tasks.named(task_name, f"No task named {task_name[:80]!r}.").id
    rows = voters.pending_of(prefix.lower(), whole_voter=scope == "voter", task_id=task_id)
    now = utcnow()
    for fb in rows:
        fb.review, fb.reviewed_by, fb.reviewed_at = "rejected", actor, now
    retention.audit(
        "reject_voter",
        actor,
        f"{scope}:{prefix[:16]}",
        rejected=len(rows),
        addresses=addresses_of(rows),
        task=task_name,
    )
    db.session.commit()
    return rows


def addresses_of(rows: list[Feedback]) -> list[str]:
    """The shortened client addresses the labels came from, sorted."""
    return sorted({fb.client[:8] for fb in rows})


def picture(image: Image) -> bytes:
    """The stored bytes of an uploaded picture, for an admin judging its label."""
    return storage().get(image.storage_key)
