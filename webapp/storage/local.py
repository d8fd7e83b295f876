"""Storage in a local directory: the embedded default."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from webapp.storage.base import Storage, StorageUnavailable, check_key


class LocalStorage(Storage):
    """Objects as files under `root`, written atomically (temp file + rename)."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key, data, content_type="application/octet-stream"):
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:  # disk full, read-only, a file where a folder should be
            raise StorageUnavailable(f"cannot write {key} under {self.root}: {exc}") from exc
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise StorageUnavailable(f"cannot write {key} under {self.root}: {exc}") from exc
            raise

    def get(self, key):
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None
        except OSError as exc:
            raise StorageUnavailable(f"cannot read {key} under {self.root}: {exc}") from exc

    def exists(self, key):
        return self._path(key).is_file()

    def delete(self, key):
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix=""):
        keys = (p.relative_to(self.root).as_posix() for p in self.root.rglob("*") if p.is_file())
        return sorted(
            k for k in keys if k.startswith(prefix) and not Path(k).name.startswith(".tmp-")
        )

    def check(self):
        if not os.access(self.root, os.W_OK):
            raise StorageUnavailable(f"storage directory {self.root} is not writable")

    def __repr__(self):
        return f"LocalStorage({str(self.root)!r})"
