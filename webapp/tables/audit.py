"""The audit log of actions on people's data: deletions, bulk rejections, retention runs.

Each tables module is named for the domain whose rows it holds; `webapp/admin/audit.py` serves these to admins.
"""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.tables.columns import created_column


class AuditEvent(db.Model):
    """Who did what to which record, and when (deploy pointer moves live in `deployments`)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(80))  # an admin's name, "uploader", or "retention"
    subject: Mapped[str] = mapped_column(
        String(120)
    )  # what it acted on, e.g. "classification:<id>"
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created: Mapped[dt.datetime] = created_column()
