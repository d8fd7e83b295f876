"""Version 1 of a built-in target from a pretrained model folder: registered and deployed once.

The fast style networks (`arbitrary`, `preset`) and the face networks of the shipped tasks
(`gender`, `smiling`, `age`) come with installed wheels and are converted once per machine into a
model folder. Whoever needs one first registers that folder as v1 of its target and deploys it, so
a retrain has a parent to beat and a rollback a version to return to. Several processes racing do
so once: (target, version) is unique, the losers wait for the winner's deployment. The model-kind
plugins that ship such a version say so (`ModelKindPlugin.ships_v1`: arbitrary, preset, face);
their domains call `ensure_v1` (`webapp.style.builtin`, `webapp.classification.shipped`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.storage.store import storage
from webapp.tables import ModelVersion


def pretrained_cache() -> Path:
    """Where pretrained networks are converted to model folders, once per machine."""
    return Path(
        current_app.config.get("PRETRAINED_CACHE_DIR")
        or Path(current_app.config["MODEL_CACHE_DIR"]) / "pretrained"
    )


def ensure_v1(
    target: str,
    kind: str,
    make_folder: Callable[[], Path],
    config: Callable[[Path], dict],
    source: str,
) -> ModelVersion:
    """The deployed version of `target`, registering `make_folder()` as v1 first when it has none."""
    mv = registry.deployed(target)
    if mv is not None:
        return mv
    folder = make_folder()
    if (mv := registry.deployed(target)) is not None:  # registered by someone else meanwhile
        return mv
    new_keys: list[str] = []
    try:
        mv = registry.register_version(
            target,
            kind,
            folder,
            new_keys,
            version="v1",
            created_by="pretrained",
            metrics=None,
            config={"source": source, **config(folder)},
        )
        db.session.flush()  # a concurrent registrar's v1 makes this fail on the unique constraint
        registry.promote(target, mv.version, actor="system", action="bootstrap", reason=source)
        db.session.commit()
        current_app.logger.info(
            "registered and deployed the pretrained %s model as %s", target, mv.version
        )
        return mv
    except IntegrityError:
        db.session.rollback()
        winner = db.session.scalar(
            db.select(ModelVersion).where(
                ModelVersion.target == target, ModelVersion.version == "v1"
            )
        )
        for key in new_keys:  # the same bytes may have gone to the same key: keep the winner's
            if winner is None or winner.storage_key != key:
                storage().delete(key)
        return _wait_deployed(target)
    except BaseException:
        db.session.rollback()
        for key in new_keys:
            storage().delete(key)
        raise


def _wait_deployed(target: str, timeout: float = 30.0) -> ModelVersion:
    deadline = time.monotonic() + timeout
    while (mv := registry.deployed(target)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(f"another process registered {target} but did not deploy it")
        time.sleep(0.2)
        db.session.expire_all()
    return mv
