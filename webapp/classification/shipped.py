"""The shipped face tasks answer from the first start: their pretrained networks as version 1.

`gender`, `smiling` and `age` are face tasks whose version 1 is a pretrained face network (see
docs/faces.md) converted once per machine (`ml.faces.model.pretrained_task_dir`) and registered
and deployed by whoever needs it first: a web worker's warm-up at start, else the first classify
request. `SHIPPED_FACE_MODELS=0` leaves them untrained (the test suite does, except in the
tests of these models).
"""

from __future__ import annotations

import threading
import time

from flask import current_app

from ml import kinds as ml_kinds
from webapp.registry import model_kinds, shipped_v1
from webapp.registry import versions as registry
from webapp.tables import ModelVersion, Task

_lock = threading.Lock()


def is_shipped(task: Task) -> bool:
    from ml.faces.model import SHIPPED

    return task.name in SHIPPED and list(task.labels) == SHIPPED[task.name]["labels"]


def wanted(task: Task) -> bool:
    """True when `task` should get its pretrained version 1 (shipped, and the setting allows it)."""
    return bool(current_app.config["SHIPPED_FACE_MODELS"]) and is_shipped(task)


def ensure(task: Task) -> ModelVersion:
    """The deployed version of a shipped task, registering its pretrained network as v1 when it has none."""
    from ml.faces import model as face_model

    def folder():
        return face_model.pretrained_task_dir(task.name, shipped_v1.pretrained_cache())

    def config(path) -> dict:
        from ml.common.modeldir import read_meta

        meta = read_meta(path)
        return {
            "decision": meta.get("decision"),
            "networks": meta.get("networks"),
            "sources": meta.get("sources"),
        }

    with _lock:  # one conversion per process; other processes race through the registry
        mv = shipped_v1.ensure_v1(
            task.name,
            ml_kinds.FACE.name,
            folder,
            config,
            face_model.SOURCES[face_model.SHIPPED[task.name]["network"]],
        )
    want_evidence(mv)
    return mv


def want_evidence(mv: ModelVersion | None) -> None:
    """Queue the evaluation of a pretrained v1 on its bundled set (a job: the first classify
    never waits for it), unless it has its evidence already."""
    plugin = model_kinds.find(mv.kind) if mv is not None else None
    if plugin is None or not plugin.ships_v1 or mv.created_by != "pretrained":
        return
    from webapp.classification import evidence

    try:
        evidence.schedule(mv)
    except Exception:  # the evidence is a nicety; serving the model is not
        current_app.logger.exception("could not queue the evidence of %s %s", mv.target, mv.version)


def wait_for_v1(task: Task, timeout: float = 30.0) -> ModelVersion | None:
    """The deployment of a v1 another process is registering right now (None if there is none).

    Only a pretrained v1 without a deployment is waited for: that is another process between
    registering and committing. Each look ends the session's transaction first, so it sees what
    others committed since.
    """
    from webapp.extensions import db

    deadline = time.monotonic() + timeout
    while True:
        mv = registry.deployed(task.name)
        pending = db.session.scalar(
            db.select(ModelVersion.id).where(
                ModelVersion.target == task.name,
                ModelVersion.version == "v1",
                ModelVersion.created_by == "pretrained",
            )
        )
        if mv is not None or pending is None or time.monotonic() > deadline:
            return mv
        db.session.commit()
        time.sleep(0.2)
