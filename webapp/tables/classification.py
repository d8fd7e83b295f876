"""Classification tasks, their training data, the answers given and the feedback received."""

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy import JSON, DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.tables.columns import created_column, public_id_column
from webapp.tables.image import Image


class Task(db.Model):
    """A classification task such as `gender`: a name and its labels."""

    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[list] = mapped_column(JSON)
    description: Mapped[str] = mapped_column(String(255), default="")
    face_crop: Mapped[bool] = mapped_column(default=True)
    config: Mapped[str | None] = mapped_column(String(255))
    metric: Mapped[str] = mapped_column(String(32), default="accuracy")
    enabled: Mapped[bool] = mapped_column(default=True)  # an admin may switch a task off
    created: Mapped[dt.datetime] = created_column()


class TrainingExample(db.Model):
    """A labelled image imported as a task's training data (CelebA, a folder, ...)."""

    __tablename__ = "training_examples"
    __table_args__ = (UniqueConstraint("task_id", "image_id", name="uq_example_task_image"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    label: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))
    created: Mapped[dt.datetime] = created_column()
    image: Mapped[Image] = relationship()


class Classification(db.Model):
    """One classify request: the image, the model that answered, and its answer."""

    __tablename__ = "classifications"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column()
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    label: Mapped[str | None] = mapped_column(String(64))
    probabilities: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    face_box: Mapped[list | None] = mapped_column(JSON)
    latency_ms: Mapped[float | None]
    face_found: Mapped[bool | None]  # face models: False when the whole picture stood in for a face
    age_years: Mapped[float | None]  # the age network's estimate, for the task age
    # Every face found, largest first: [{"index", "face_box", "rotation", "label", "probability",
    # "probabilities", "age_years"?}]; the columns above describe face 0. None: not a face model.
    faces: Mapped[list | None] = mapped_column(JSON)
    client: Mapped[str] = mapped_column(String(64), index=True)  # hash of the client address
    owner: Mapped[str | None] = mapped_column(
        String(64), index=True
    )  # hash of the uploader's cookie
    created: Mapped[dt.datetime] = created_column()
    task: Mapped[Task] = relationship()
    image: Mapped[Image] = relationship()


class Feedback(db.Model):
    """A person's statement of the true label of one face of a classified photo, or that the photo
    holds no face (`no_face`, label null: never a training label). One per person and face: a
    changed mind replaces it. `image_id` is the picture trained on: the photo itself, or the chip
    of the face when it is not the photo's only upright face."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    classification_id: Mapped[int] = mapped_column(ForeignKey("classifications.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(64))
    face: Mapped[int] = mapped_column(default=0, server_default="0")
    no_face: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    agrees: Mapped[bool | None]
    client: Mapped[str] = mapped_column(String(64), index=True)
    review: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created: Mapped[dt.datetime] = created_column()
    classification: Mapped[Classification] = relationship()


class HoldoutItem(db.Model):
    """An image of the split of a task's imported data frozen at its first retrain, kept out of
    training to judge its models. (Admin-verified labels join the holdout as they stand at each
    retrain, the newest verdict per image: see classification.datasets.holdout.)"""

    __tablename__ = "holdout_items"
    __table_args__ = (UniqueConstraint("task_id", "image_id", name="uq_holdout_task_image"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), index=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    label: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = created_column()
    image: Mapped[Image] = relationship()
