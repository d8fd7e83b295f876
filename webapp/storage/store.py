"""Writes that touch storage and the database together, in the safe order."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.storage import Storage
from webapp.tables import Image
from webapp.uploads import ValidImage


def storage() -> Storage:
    """The app's storage backend."""
    return current_app.extensions["storage"]


@contextmanager
def saving():
    """Commit the rows added inside; on any failure roll back and delete objects put for them.

    Objects are always written before the rows that point at them, so a failed commit can
    leave neither a row pointing at nothing nor (after this cleanup) an orphan object.
    """
    new_keys: list[str] = []
    try:
        yield new_keys
        db.session.commit()
    except BaseException:
        db.session.rollback()
        for key in new_keys:
            _delete_if_unreferenced(key)
        raise


def _delete_if_unreferenced(key: str) -> None:
    try:
        if db.session.scalar(db.select(Image.id).where(Image.storage_key == key)) is None:
            storage().delete(key)
    except Exception:  # cleanup is best effort; the original error matters more
        current_app.logger.warning("could not clean up object %s", key)


def store_image(upload: ValidImage, new_keys: list[str]) -> Image:
    """Return the Image row for `upload`, storing the bytes once per content hash."""
    found = db.session.scalar(db.select(Image).where(Image.sha256 == upload.sha256))
    if found is not None:
        return found
    key = f"images/{upload.sha256[:2]}/{upload.sha256}.{upload.extension}"
    if not storage().exists(key):
        storage().put(key, upload.data, content_type=f"image/{upload.format}")
        new_keys.append(key)
    image = Image(
        sha256=upload.sha256,
        storage_key=key,
        format=upload.format,
        width=upload.width,
        height=upload.height,
        size_bytes=len(upload.data),
    )
    try:
        with db.session.begin_nested():
            db.session.add(image)
    except IntegrityError:  # another worker stored the same picture a moment ago
        new_keys.remove(key) if key in new_keys else None
        return db.session.scalar(db.select(Image).where(Image.sha256 == upload.sha256))
    return image


def load_pixels(key: str):
    """The stored image under `key` as RGB uint8 pixels."""
    import io

    import numpy as np
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(storage().get(key))) as im:
        return np.asarray(im.convert("RGB"))
