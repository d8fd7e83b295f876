"""What a person says about a classified photo: the true label of one face, or that it holds no face.

One answer per person and face: a changed mind replaces the earlier answer (the same row, so a
vote is never counted twice). A label about a face other than the photo's main upright face is
stored against that face's chip, so training reads the face the person meant. "No face here"
is kept (the review queue shows it) but is never a training label of the task.
"""

from __future__ import annotations

from dataclasses import dataclass

from webapp.classification import faces
from webapp.exceptions import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.storage.store import saving, store_image
from webapp.tables import Classification, Feedback, utcnow


@dataclass(frozen=True)
class Statement:
    """A checked request: a label for face `face`, or `no_face`."""

    label: str | None
    face: int
    no_face: bool


def parse(row: Classification, body: dict) -> Statement:
    """The statement in a feedback request; Invalid, NotFound (unknown face) or Conflict
    (switched-off task) when it cannot be taken."""
    task = row.task
    if not task.enabled:
        raise Conflict(f"The task {task.name!r} is switched off; it takes no labels now.")
    if body.get("no_face") is True:
        return Statement(None, 0, True)
    if body.get("no_face") not in (None, False):
        raise Invalid(f"'no_face' must be true or false. Received: {body.get('no_face')!r}")
    label, face = body.get("label"), body.get("face", 0)
    if not isinstance(label, str) or label not in task.labels:
        raise Invalid(
            f"'label' must be one of {task.labels} for task {task.name!r} "
            f'(or send {{"no_face": true}}). Received: {label!r}'
        )
    if isinstance(face, bool) or not isinstance(face, int):
        raise Invalid(f"'face' must be a face index (0 is the largest face). Received: {face!r}")
    if face != 0 and faces.find(row, face) is None:
        count = len(faces.listed(row))
        raise NotFound(f"This photo has no face {face}; it has {count} (indexes from 0).")
    return Statement(label, face, False)


def _agrees(row: Classification, said: Statement) -> bool | None:
    """Whether the person agrees with the model's answer; None when the model gave none."""
    if row.model_version_id is None:
        return None
    if said.no_face:
        return row.face_found is False if row.face_found is not None else None
    face = faces.find(row, said.face)
    if face is not None:
        return face["label"] == said.label
    if row.face_found is False:  # the model found no face; the person says there is one
        return False
    return row.label == said.label if row.label is not None else None  # a photo model


def _image_id(row: Classification, said: Statement) -> int:
    """The picture a label trains on: the photo, or the chip of the face it names."""
    face = faces.find(row, said.face)
    if said.no_face or not faces.needs_chip(row, face):
        return row.image_id
    with saving() as new_keys:
        image = store_image(faces.chip_upload(row, face), new_keys)
    return image.id


def _earlier(row: Classification, said: Statement, client: str) -> Feedback | None:
    """This person's earlier answer about the same face (from the same address: the uploader's
    answers from several addresses stay several rows, which is how voters.py links them)."""
    return db.session.scalar(
        db.select(Feedback)
        .where(
            Feedback.classification_id == row.id,
            Feedback.face == said.face,
            Feedback.client == client,
        )
        .order_by(Feedback.id.desc())
        .limit(1)
    )


def record(
    row: Classification, said: Statement, client: str, reviewer: str | None = None
) -> Feedback:
    """Store (or replace) a person's answer about a classified photo (committed).

    An admin's own label (`reviewer`, their username) is trusted at once; anyone else's waits for
    review. A label an admin already rejected stays rejected when its author changes it.
    """
    image_id = _image_id(row, said)
    fb = _earlier(row, said, client)
    if fb is None:
        fb = Feedback(classification_id=row.id, task_id=row.task_id, face=said.face, client=client)
        db.session.add(fb)
    elif fb.review != "rejected":
        fb.review, fb.reviewed_by, fb.reviewed_at = "pending", None, None
    fb.image_id, fb.label, fb.no_face = image_id, said.label, said.no_face
    fb.agrees = _agrees(
        row, said
    )  # `created` stays the first answer's: a voter's record starts there
    if reviewer is not None:
        fb.review, fb.reviewed_by, fb.reviewed_at = "verified", reviewer, utcnow()
    db.session.commit()
    return fb


def counts(fb: Feedback) -> bool:
    """Whether an answer will count toward training: a label, not held back by an admin's
    rejection of it or of its author's other labels in the task."""
    if fb.no_face or fb.label is None or fb.review == "rejected":
        return False
    rejected = db.session.scalar(
        db.select(Feedback.id)
        .where(
            Feedback.task_id == fb.task_id,
            Feedback.client == fb.client,
            Feedback.review == "rejected",
        )
        .limit(1)
    )
    return rejected is None


def describe(fb: Feedback) -> dict:
    """The API's answer to a feedback request: what was stored."""
    return {
        "agrees": fb.agrees,
        "label": fb.label,
        "face": None if fb.no_face else fb.face,
        "no_face": fb.no_face,
        "counts": counts(fb),
    }
