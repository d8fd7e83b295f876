"""Uploaded images, stored once per content hash."""

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.tables.columns import created_column


class Image(db.Model):
    """One distinct picture: the re-encoded bytes live in storage under `storage_key`."""

    __tablename__ = "images"
    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    storage_key: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(8))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created: Mapped[dt.datetime] = created_column()

    @property
    def mimetype(self) -> str:
        """The HTTP content type of the stored bytes."""
        return {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}[self.format]
