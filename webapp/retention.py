"""What is kept of people's uploads, and for how long: deleting one's photo and everything made
from it, the per-client storage quota, and the retention of unlabelled uploads. Every deletion
is written to the audit log (`AuditEvent`).

Labels already used by a deployed model stay in that model (a model version is immutable); the
rows, pictures, results and ratings go. A picture another record still uses (the same photo
uploaded twice, an imported example, a holdout image) stays for that record.
"""

from __future__ import annotations

import datetime as dt

from flask import current_app

from webapp.exceptions import TooMany
from webapp.extensions import db
from webapp.jobs.runner import request_cancel
from webapp.storage.store import storage
from webapp.tables import (
    AuditEvent,
    Classification,
    Feedback,
    HoldoutItem,
    Image,
    Rating,
    Stylization,
    TrainingExample,
    utcnow,
)


def audit(action: str, actor: str, subject: str, **detail) -> None:
    """Add an audit log entry (committed with the caller's change)."""
    db.session.add(
        AuditEvent(action=action, actor=actor[:80], subject=subject[:120], detail=detail)
    )


def audit_events(action: str | None = None, limit: int = 500) -> list[AuditEvent]:
    """The newest `limit` entries of the audit log (of `action` only, when given), newest first."""
    query = db.select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query))


def _image_in_use(image_id: int) -> bool:
    uses = (
        db.select(Classification.id).where(Classification.image_id == image_id),
        db.select(Stylization.id).where(
            (Stylization.content_image_id == image_id) | (Stylization.style_image_id == image_id)
        ),
        db.select(TrainingExample.id).where(TrainingExample.image_id == image_id),
        db.select(HoldoutItem.id).where(HoldoutItem.image_id == image_id),
        db.select(Feedback.id).where(Feedback.image_id == image_id),
    )
    return any(db.session.scalar(q.limit(1)) is not None for q in uses)


def _drop_images(image_ids: list[int | None], keys: list[str]) -> int:
    """Delete the pictures no other record uses (rows now; their objects listed in `keys`)."""
    dropped = 0
    for image_id in {i for i in image_ids if i is not None}:
        image = db.session.get(Image, image_id)
        if image is not None and not _image_in_use(image_id):
            keys.append(image.storage_key)
            db.session.delete(image)
            dropped += 1
    return dropped


def _delete_objects(keys: list[str]) -> None:
    """After the commit: the rows no longer point at these objects."""
    for key in keys:
        try:
            storage().delete(key)
        except Exception as exc:  # an orphan object is harmless; the rows are gone
            current_app.logger.warning("could not delete object %s: %s", key, exc)


def _erase_classification(row: Classification, keys: list[str]) -> dict:
    chips = list(  # the face chips its labels were stored against
        db.session.scalars(
            db.select(Feedback.image_id).where(
                Feedback.classification_id == row.id, Feedback.image_id != row.image_id
            )
        )
    )
    labels = db.session.execute(
        db.delete(Feedback).where(Feedback.classification_id == row.id)
    ).rowcount
    task, image_id = row.task.name, row.image_id
    db.session.delete(row)
    db.session.flush()
    return {"task": task, "labels": labels, "pictures": _drop_images([image_id, *chips], keys)}


def _erase_stylization(row: Stylization, keys: list[str]) -> dict:
    ratings = db.session.execute(db.delete(Rating).where(Rating.stylization_id == row.id)).rowcount
    if row.job is not None and row.job.status in ("queued", "running"):
        request_cancel(row.job)
    if row.result_key:
        keys.append(row.result_key)
    images = [row.content_image_id, row.style_image_id]
    method = row.method
    db.session.delete(row)
    db.session.flush()
    return {"method": method, "ratings": ratings, "pictures": _drop_images(images, keys)}


def delete_classification(row: Classification, actor: str) -> None:
    """Delete a classification, its labels and its picture (unless something else uses it)."""
    keys: list[str] = []
    detail = _erase_classification(row, keys)
    audit("delete", actor, f"classification:{row.public_id}", **detail)
    db.session.commit()
    _delete_objects(keys)


def delete_stylization(row: Stylization, actor: str) -> None:
    """Delete a stylization, its result, ratings and pictures; a queued or running job is cancelled."""
    keys: list[str] = []
    detail = _erase_stylization(row, keys)
    audit("delete", actor, f"stylization:{row.public_id}", **detail)
    db.session.commit()
    _delete_objects(keys)


def prune(days: float, *, dry_run: bool = False) -> dict:
    """Delete classifications nobody labelled and ended stylizations older than `days`, and the
    pictures only they used. Returns the counts."""
    cutoff = utcnow() - dt.timedelta(days=days)
    labelled = db.select(Feedback.classification_id)
    classifications = db.session.scalars(
        db.select(Classification).where(
            Classification.created < cutoff, Classification.id.not_in(labelled)
        )
    ).all()
    stylizations = [
        s
        for s in db.session.scalars(db.select(Stylization).where(Stylization.created < cutoff))
        if s.status in ("done", "failed")
    ]
    counts = {"classifications": len(classifications), "stylizations": len(stylizations)}
    if dry_run:
        return {**counts, "pictures": 0, "dry_run": True}
    keys: list[str] = []
    pictures = 0
    for row in classifications:
        pictures += _erase_classification(row, keys)["pictures"]
    for row in stylizations:
        pictures += _erase_stylization(row, keys)["pictures"]
    audit("prune", "retention", f"older than {days:g} days", **counts, pictures=pictures)
    db.session.commit()
    _delete_objects(keys)
    return {**counts, "pictures": pictures}


def stored_bytes(column_client: str, owner: str | None, since: dt.datetime) -> int:
    """Bytes of pictures this client address or this uploader cookie added since `since`
    (whichever is more)."""
    totals = []
    for field, value in (("client", column_client), ("owner", owner)):
        if value is None:
            continue
        c = db.session.scalar(
            db.select(db.func.coalesce(db.func.sum(Image.size_bytes), 0))
            .join(Classification, Classification.image_id == Image.id)
            .where(getattr(Classification, field) == value, Classification.created >= since)
        )
        s = db.session.scalar(
            db.select(db.func.coalesce(db.func.sum(Image.size_bytes), 0))
            .join(
                Stylization,
                (Stylization.content_image_id == Image.id)
                | (Stylization.style_image_id == Image.id),
            )
            .where(getattr(Stylization, field) == value, Stylization.created >= since)
        )
        totals.append(int(c or 0) + int(s or 0))
    return max(totals or [0])


def check_quota(client: str, owner: str | None, incoming: int) -> None:
    """429 (with Retry-After) when these `incoming` bytes would take the client past its quota."""
    config = current_app.config
    limit = config["STORAGE_QUOTA_MB"] * 1024 * 1024
    if limit <= 0:
        return
    window = dt.timedelta(days=config["STORAGE_QUOTA_DAYS"])
    used = stored_bytes(client, owner, utcnow() - window)
    if used + incoming <= limit:
        return
    raise TooMany(
        f"Storage quota reached: you stored {used / 1e6:.0f} MB of pictures in the last "
        f"{_span(window)} (at most {config['STORAGE_QUOTA_MB']:g} MB). Delete pictures you no "
        "longer need (DELETE /api/classify/<id> or /api/stylize/<id>, or the Delete button on "
        "their pages), or wait.",
        int(min(window.total_seconds(), 3600)),
    )


def _span(window: dt.timedelta) -> str:
    hours = window.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:g} days"
