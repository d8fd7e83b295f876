"""The one model cache of a process: a model folder is loaded once, whoever asks for it.

Keyed by the folder's resolved path, or by a key the caller names for the content (the web app's
registry uses the archive's sha256, so one model unpacked in two places is still held once); the
folder's path then finds the same model. A caller that rewrites a folder in place calls
``forget`` first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

_models: dict[str, object] = {}
_aliases: dict[str, str] = {}  # a folder's path -> the content key its model is kept under
_lock = threading.Lock()


def _key(model_dir) -> str:
    return str(Path(model_dir).resolve())


def _find(path_key: str, key: str | None):
    return _models.get(key or _aliases.get(path_key, path_key))


def cached(model_dir, load: Callable[[Path], object], key: str | None = None):
    """The model of ``model_dir``, loaded with ``load(model_dir)`` the first time only.

    ``key``: what names the content (a sha256), when not the folder's path.
    """
    path_key = _key(model_dir)
    with _lock:
        model = _find(path_key, key)
        if model is not None and key is not None:
            _aliases[path_key] = key
    if model is None:
        model = load(Path(model_dir))  # outside the lock: a slow load must not block other folders
        with _lock:
            model = _models.setdefault(key or path_key, model)
            if key is not None:
                _aliases[path_key] = key
    return model


def alias(model_dir, key: str) -> None:
    """Let ``model_dir``'s path find the model held under ``key`` (another unpacked copy of it)."""
    with _lock:
        _aliases[_key(model_dir)] = key


def peek(model_dir=None, key: str | None = None):
    """The model already held for ``model_dir`` (or ``key``), or None; never loads."""
    with _lock:
        return _find(_key(model_dir) if model_dir is not None else "", key)


def is_cached(model_dir=None, key: str | None = None) -> bool:
    """Whether ``model_dir``'s (or ``key``'s) model is in this process's cache."""
    return peek(model_dir, key) is not None


def forget(model_dir=None, key: str | None = None) -> None:
    """Drop one folder's (or key's) model, or all with no argument, from the cache."""
    with _lock:
        if model_dir is None and key is None:
            _models.clear()
            _aliases.clear()
            return
        if model_dir is not None:
            path_key = _key(model_dir)
            key = key or _aliases.pop(path_key, path_key)
        _models.pop(key, None)
        for path_key in [p for p, k in _aliases.items() if k == key]:
            del _aliases[path_key]
