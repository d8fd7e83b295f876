"""The model registry: immutable versions and the deploy pointer's full history."""

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.tables.columns import created_column


class ModelVersion(db.Model):
    """One trained model of a target (a task name or a style method), stored immutably."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("target", "version", name="uq_model_target_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    storage_key: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    data_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    created_by: Mapped[str | None] = mapped_column(String(80))
    job_id: Mapped[str | None] = mapped_column(String(36))
    created: Mapped[dt.datetime] = created_column()
    parent: Mapped[Optional["ModelVersion"]] = relationship(remote_side=[id])


class Deployment(db.Model):
    """One move of a target's deploy pointer; the newest row is what is served."""

    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(64), index=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    previous_version_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    action: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(String(255), default="")
    created: Mapped[dt.datetime] = created_column()
    model_version: Mapped[ModelVersion] = relationship(foreign_keys=[model_version_id])
