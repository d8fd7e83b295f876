"""Periodic retraining, set per target in the admin console."""

import datetime as dt

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.tables.columns import created_column


class Schedule(db.Model):
    """Retrain `target` every `every_hours`, skipped when no new feedback arrived since the last run."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(64), unique=True)
    every_hours: Mapped[float]
    enabled: Mapped[bool] = mapped_column(default=True)
    last_run: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_job_id: Mapped[str | None] = mapped_column(String(36))
    last_outcome: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str | None] = mapped_column(String(80))
    created: Mapped[dt.datetime] = created_column()
