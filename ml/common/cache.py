"""The one model cache of a process: a model folder is loaded once, whoever asks for it.

Keyed by the folder's resolved path. The web app names its folders by the content's sha256, so a
path never holds two different models there; a caller that rewrites a folder in place calls
``forget`` first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

_models: dict[str, object] = {}
_lock = threading.Lock()


def _key(model_dir) -> str:
    return str(Path(model_dir).resolve())


def cached(model_dir, load: Callable[[Path], object]):
    """The model of ``model_dir``, loaded with ``load(model_dir)`` the first time only."""
    key = _key(model_dir)
    with _lock:
        model = _models.get(key)
    if model is None:
        model = load(Path(model_dir))  # outside the lock: a slow load must not block other folders
        with _lock:
            model = _models.setdefault(key, model)
    return model


def is_cached(model_dir) -> bool:
    """Whether ``model_dir``'s model is in this process's cache."""
    with _lock:
        return _key(model_dir) in _models


def forget(model_dir=None) -> None:
    """Drop one folder's model (or all, with no argument) from the cache."""
    with _lock:
        if model_dir is None:
            _models.clear()
        else:
            _models.pop(_key(model_dir), None)
