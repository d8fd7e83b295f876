"""Pretrained networks converted once per machine: the one mechanism the style and face networks share.

A converted network is a model folder ``cache_dir/<name>`` whose name carries a digest of its
sources, so new sources make a new folder. It is built in a temporary folder beside it and
renamed into place: concurrent callers (web workers, job workers starting together) never see
half a folder, and the slower one throws its copy away.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from ml.common.modeldir import META_FILE


def converted_once(cache_dir, name: str, build: Callable[[Path], None]) -> Path:
    """``cache_dir/name``, built by ``build(folder)`` (which writes the model and meta.json) if absent."""
    target = Path(cache_dir) / name
    if (target / META_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        build(tmp)
        try:
            os.rename(tmp, target)
        except OSError:  # another process finished first: its folder is as good as ours
            if not (target / META_FILE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
