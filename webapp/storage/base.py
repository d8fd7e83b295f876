"""The storage interface every backend implements."""

from __future__ import annotations

import abc
import re

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}$")


class StorageError(Exception):
    """A storage operation failed."""

    code: str | None = (
        None  # the backend's own error code, when it gave one (e.g. S3's "NoSuchBucket")
    )


class StorageUnavailable(StorageError):
    """The storage backend cannot be reached right now; retrying later may work."""


def check_key(key: str) -> str:
    """Refuse keys that could escape the store (`..`, absolute paths, odd characters)."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"Invalid storage key. Received: key={key!r}")
    return key


class Storage(abc.ABC):
    """Bytes under keys such as `images/ab/abcd....jpg`."""

    @abc.abstractmethod
    def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store `data` under `key`, replacing what was there."""

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """Return the bytes under `key`; KeyError when there are none."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """True when `key` holds an object."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove `key`; no error when it is already gone."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> list[str]:
        """Every key starting with `prefix`, sorted."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailable when the backend cannot be used (for /healthz)."""
