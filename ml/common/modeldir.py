"""The self-describing model folder every trainer writes and every loader reads.

A model folder holds the model file(s) and a ``meta.json`` that says what it is:
``{"kind": str, "name": str, "created": iso-time, "config": {...}, ...}`` plus whatever the kind
needs (labels, preprocessing, metrics). The kinds themselves (how each is loaded, predicts, is
trained) are registered in ``ml.kinds``, the one list of them; here a kind is just its name.
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path
from typing import Any

META_FILE = "meta.json"


class ModelDirError(ValueError):
    """A folder that is not a readable model folder."""


def write_meta(model_dir: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``meta.json`` into ``model_dir`` (created if needed) and return its path."""
    kind = meta.get("kind")
    if not _is_name(kind):
        raise ModelDirError(f"meta['kind'] must name a model kind. Received: kind={kind!r}")
    meta = {"created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), **meta}
    path = Path(model_dir) / META_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    return path


def read_meta(model_dir: str | Path, kind: str | None = None) -> dict[str, Any]:
    """Read and check ``meta.json`` of ``model_dir``; with ``kind``, it must hold a model of that kind."""
    path = Path(model_dir) / META_FILE
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelDirError(f"{model_dir} is not a model folder: no {META_FILE}") from None
    except (OSError, ValueError) as exc:
        raise ModelDirError(f"{path} is unreadable: {exc}") from None
    if not isinstance(meta, dict) or not _is_name(meta.get("kind")):
        raise ModelDirError(f"{path} does not name a model kind")
    if kind is not None and meta["kind"] != kind:
        article = "an" if kind[0] in "aeiou" else "a"
        raise ModelDirError(
            f"{model_dir} holds a {meta['kind']!r} model, not {article} {kind!r} one"
        )
    return meta


def _is_name(kind) -> bool:
    return isinstance(kind, str) and bool(kind.strip())
