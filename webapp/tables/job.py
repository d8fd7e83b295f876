"""Background jobs (stylization, retraining): status and progress any web worker can read."""

import datetime as dt
from typing import Any

from sqlalchemy import JSON, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.tables.columns import created_column

LOG_LIMIT = 20_000


class Job(db.Model):
    """A unit of long work run by a job worker, never in a web request."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    progress: Mapped[float] = mapped_column(default=0.0)
    log: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(80))
    created: Mapped[dt.datetime] = created_column()
    started: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    def append_log(self, line: str) -> None:
        """Add a line to the log, keeping only its tail."""
        self.log = ((self.log or "") + line.rstrip("\n") + "\n")[-LOG_LIMIT:]

    def log_tail(self, lines: int = 20) -> str:
        """The last `lines` lines of the log."""
        return "\n".join((self.log or "").splitlines()[-lines:])
