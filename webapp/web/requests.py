"""Small helpers shared by the API views."""

from __future__ import annotations

from flask import current_app, request

from webapp.exceptions import NotFound
from webapp.extensions import db
from webapp.uploads import Limits, ValidImage, read_upload
from webapp.web.validation import json_body  # noqa: F401  (the one JSON body parser, re-exported for the views)


def upload(field: str, *, required: bool = True) -> ValidImage | None:
    """The validated image in multipart field `field`."""
    config = current_app.config
    limits = Limits(
        config["MAX_IMAGE_PIXELS"], config["MAX_IMAGE_SIDE"], config["MAX_IMAGE_ASPECT"]
    )
    return read_upload(
        request.files, field, max_pixels=limits.max_pixels, required=required, limits=limits
    )


def get_or_404(model, ident: int, what: str):
    """The row with primary key `ident`, or a 404 naming what was missing."""
    row = db.session.get(model, ident)
    if row is None:
        raise NotFound(f"No {what} with id {ident}.")
    return row


def public_or_404(model, public_id: str, what: str):
    """The row whose opaque public id is `public_id`, or a 404 naming what was missing."""
    row = None
    if 10 <= len(public_id) <= 32:
        row = db.session.scalar(db.select(model).where(model.public_id == public_id))
    if row is None:
        raise NotFound(f"No {what} with id {public_id[:40]!r}; check the link.")
    return row
