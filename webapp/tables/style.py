"""Style-transfer requests and their ratings.

Each tables module is named for the domain whose rows it holds; `webapp/api/style.py` serves these.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, select
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.tables.columns import created_column, public_id_column
from webapp.tables.image import Image
from webapp.tables.job import Job


class Stylization(db.Model):
    """A content image rendered in a style: parameters, result and render timings.

    Its state (status, progress, error) is its job's and only its job's: the worker, a cancel
    (the uploader's or an admin's) and the recovery of a dead worker's jobs all write the Job row,
    so every reader sees the same answer. `status` also works in queries
    (`Stylization.status == "done"`) as a subquery on the job.
    """

    __tablename__ = "stylizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column()
    content_image_id: Mapped[int] = mapped_column(ForeignKey("images.id"))
    style_image_id: Mapped[int | None] = mapped_column(ForeignKey("images.id"))
    method: Mapped[str] = mapped_column(String(64))
    model_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(ForeignKey("jobs.id"))
    result_key: Mapped[str | None] = mapped_column(String(255))
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    seconds: Mapped[float | None]
    client: Mapped[str] = mapped_column(String(64), index=True)  # hash of the client address
    owner: Mapped[str | None] = mapped_column(
        String(64), index=True
    )  # hash of the uploader's cookie
    created: Mapped[dt.datetime] = created_column()
    started: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    content_image: Mapped[Image] = relationship(foreign_keys=[content_image_id])
    style_image: Mapped[Image | None] = relationship(foreign_keys=[style_image_id])
    job: Mapped[Job | None] = relationship()

    @hybrid_property
    def status(self) -> str:
        """queued | running | done | failed: its job's status."""
        return self.job.status if self.job is not None else "failed"

    @status.inplace.expression
    @classmethod
    def _status_expression(cls):
        return select(Job.status).where(Job.id == cls.job_id).scalar_subquery()

    @property
    def progress(self) -> float:
        """0..1, its job's progress."""
        return self.job.progress if self.job is not None else 0.0

    @property
    def error(self) -> str | None:
        """Why it failed (its job's error), else None."""
        return self.job.error if self.job is not None else "This stylization has no job."


class Rating(db.Model):
    """1-5 stars and an optional comment on a stylization: one per client address."""

    __tablename__ = "ratings"
    __table_args__ = (
        Index("uq_rating_stylization_client", "stylization_id", "client", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    stylization_id: Mapped[int] = mapped_column(ForeignKey("stylizations.id"), index=True)
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(Text, default="")
    client: Mapped[str] = mapped_column(String(64))
    created: Mapped[dt.datetime] = created_column()
    stylization: Mapped[Stylization] = relationship()
