"""One small storage interface, one backend per URL scheme (file://, s3://)."""

from __future__ import annotations

from urllib.parse import urlparse

from webapp.storage.base import Storage, StorageError, StorageUnavailable


def open_storage(url: str, *, endpoint_url: str | None = None) -> Storage:
    """Return the backend for `url` (`file://DIR` or `s3://BUCKET/PREFIX`)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from webapp.storage.local import LocalStorage

        return LocalStorage(parsed.netloc + parsed.path)
    if parsed.scheme == "s3":
        from webapp.storage.s3 import S3Storage

        return S3Storage(parsed.netloc, parsed.path.strip("/"), endpoint_url=endpoint_url)
    raise ValueError(f"STORAGE_URL must start with file:// or s3://. Received: {url!r}")


__all__ = ["Storage", "StorageError", "StorageUnavailable", "open_storage"]
