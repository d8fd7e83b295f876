"""Shared column helpers."""

import datetime as dt
import secrets

from sqlalchemy import DateTime, String
from sqlalchemy.orm import mapped_column


def utcnow() -> dt.datetime:
    """Timezone-aware now in UTC."""
    return dt.datetime.now(dt.UTC)


def created_column():
    """A non-null creation timestamp set by Python (same on SQLite and PostgreSQL)."""
    return mapped_column(DateTime(timezone=True), default=utcnow, nullable=False, index=True)


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 text of a timestamp (SQLite returns naive datetimes; they are UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat(timespec="seconds")


def new_public_id() -> str:
    """An opaque id for URLs: 128 random bits, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def public_id_column():
    """The id users see in URLs; the integer primary key never leaves the server."""
    return mapped_column(String(32), unique=True, index=True, default=new_public_id, nullable=False)
