"""Classification: the deployed model of a task answers; the request and answer are kept.

The classification domain's request service; `webapp.style.service` plays the same role for
stylizations.
"""

from __future__ import annotations

import threading
import time

from flask import current_app

from ml import kinds as ml_kinds
from webapp.classification import faces, shipped
from webapp.exceptions import NotFound
from webapp.extensions import db
from webapp.registry import versions as registry
from webapp.storage.store import saving, store_image
from webapp.tables import Classification, ModelVersion, Task
from webapp.uploads import ValidImage

_loading: set[str] = set()  # sha256 of versions being loaded in the background
_loading_lock = threading.Lock()
# (database, task) -> the version that answered last; its model is in the registry's one cache
_last_good: dict[tuple[str, str], int] = {}


def find_task(name: str | None) -> Task:
    """The named task, or the first one when no name is given; 404 when unknown."""
    query = db.select(Task).order_by(Task.id)
    query = query.where(Task.enabled.is_(True))
    task = db.session.scalar(query.where(Task.name == name) if name else query.limit(1))
    if task is None:
        raise NotFound(
            f"No task named {name!r}; GET /api/tasks lists them." if name else "No tasks exist yet."
        )
    return task


def enabled_tasks() -> list[Task]:
    """The tasks users may ask, in creation order (an admin may switch a task off)."""
    return list(db.session.scalars(db.select(Task).where(Task.enabled.is_(True)).order_by(Task.id)))


def deployed_version(task: Task) -> ModelVersion | None:
    """The deployed version of `task`; a shipped face task gets its pretrained v1 on first need."""
    mv = registry.deployed(task.name)
    if mv is None and shipped.wanted(task):
        if registry.has_versions(task.name):  # another process registered v1 since the first look
            return shipped.wait_for_v1(task)
        mv = shipped.ensure(task)
    return mv


def serving_model(task: Task) -> tuple[ModelVersion | None, object | None]:
    """The deployed version and its loaded model; the last good one if the new one fails.

    After a deploy, a web worker that still serves the previous version loads the new one in the
    background and keeps answering with the previous one until it is ready: no request pays for
    loading a model (seconds). The answer names the version that gave it.
    """
    mv = deployed_version(task)
    if mv is None:
        return None, None
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], task.name)
    previous = _previous(key)
    if previous and previous[0].id != mv.id and not registry.is_loaded(mv):
        _load_in_background(mv)
        return previous
    try:
        model = registry.load(mv)
        _last_good[key] = mv.id
        return mv, model
    except registry.ModelRefused as exc:
        current_app.logger.error("refusing to serve %s %s: %s", task.name, mv.version, exc)
        return previous or (None, None)


def _previous(key: tuple[str, str]) -> tuple[ModelVersion, object] | None:
    """The version that answered last and its model, when this process still holds it."""
    version_id = _last_good.get(key)
    row = db.session.get(ModelVersion, version_id) if version_id is not None else None
    model = registry.loaded(row) if row is not None else None
    return (row, model) if model is not None else None


def _load_in_background(mv: ModelVersion) -> None:
    """Load (and run once) a newly deployed version in a daemon thread, once per process."""
    from webapp.jobs.background import in_background

    with _loading_lock:
        if mv.sha256 in _loading:
            return
        _loading.add(mv.sha256)
    version_id = mv.id

    def work() -> None:
        try:
            row = db.session.get(ModelVersion, version_id)
            model = registry.load(row)
            warm(model)
        finally:
            with _loading_lock:
                _loading.discard(row.sha256 if row else mv.sha256)

    in_background(current_app._get_current_object(), work, f"load-{mv.target}-{mv.version}")


def warm(model) -> None:
    """Run a loaded classifier once, so its compiled function is ready before a request needs it."""
    if hasattr(model, "predict"):
        import numpy as np

        model.predict(np.zeros((64, 64, 3), np.uint8))


def classify(
    task: Task, upload: ValidImage, client: str, owner: str | None = None
) -> Classification:
    """Store the upload, run the deployed model (if any) and store its answer for every face.

    A face model that finds no face gives no answer (label null): its reading of the whole
    picture is not an answer about a face.
    """
    mv, model = serving_model(task)
    answer: dict = {}
    if model is not None:
        started = time.perf_counter()
        answer = _answer(_predict(mv, model, upload))
        answer["latency_ms"] = (time.perf_counter() - started) * 1000
    with saving() as new_keys:
        image = store_image(upload, new_keys)
        row = Classification(
            task_id=task.id,
            image=image,
            model_version_id=mv.id if mv else None,
            client=client,
            owner=owner,
            **answer,
        )
        db.session.add(row)
    return row


def _predict(mv: ModelVersion, model, upload: ValidImage):
    """The model's answer, through its kind's one prediction protocol. A model that says how
    small it may read a photo (`decode_long_side`: a face model's detection needs about 1000 px)
    gets a big JPEG decoded at reduced size, and its boxes are scaled back to the photo's pixels;
    a photo model resizes the photo itself."""
    pixels = upload.to_array(max_side=getattr(model, "decode_long_side", None))
    (prediction,) = ml_kinds.get(mv.kind).predict(model, [pixels])
    if pixels.shape[1] != upload.width:
        prediction = prediction.scaled(upload.width / pixels.shape[1])
    return prediction


def _answer(prediction) -> dict:
    """The columns of a classification from a model's prediction (face 0 at the top level)."""
    found = faces.answers(prediction)
    if found == []:  # a face model that found no face
        return {"face_found": False, "faces": []}
    main = found[0] if found else faces.answer_of(prediction, 0)
    return {
        "label": main["label"],
        "probabilities": main["probabilities"],
        "face_box": main["face_box"],
        "face_found": getattr(prediction, "face_found", None),
        "age_years": main.get("age_years"),
        "faces": found,
    }


def describe(row: Classification) -> dict:
    """The API's answer for a classification (the POST's and GET /api/classify/<id>'s)."""
    probs = row.probabilities or {}
    mv = db.session.get(ModelVersion, row.model_version_id) if row.model_version_id else None
    return {
        "id": row.public_id,
        "task": row.task.name,
        "label": row.label,
        "probability": probs.get(row.label) if row.label else None,
        "probabilities": probs if row.label else {},
        "model_version": mv.version if mv else None,
        "face_box": row.face_box,
        "face_found": row.face_found,
        "faces": faces.listed(row),
        **({"age_years": row.age_years} if row.age_years is not None else {}),
    }
