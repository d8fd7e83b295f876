"""Admin API: tasks, retraining jobs, the model registry."""

import re

from flask import current_app, jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.extensions import db
from webapp.jobs.runner import describe_job
from webapp.registry import targets
from webapp.registry import versions as registry
from webapp.tables import Job, ModelVersion, Task
from webapp.web.errors import ApiError
from webapp.web.requests import get_or_404, json_body

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
# What a new task's model reads: the face networks' features (ml/configs/face.yaml), or VGG16
# features of the photo (the app's TRAIN_CONFIG, ml/configs/default.yaml unless set).
TASK_FEATURES = {"face": "face.yaml", "photo": None}


def _actor() -> str:
    return current_admin().username


@bp.post("/api/admin/tasks")
@admin_required
def create_task():
    """Create a classification task with its labels.
    ---
    post:
      summary: Create a classification task
      requestBody: {required: true, content: {application/json: {schema: TaskRequest}}}
      responses:
        201: {description: "Created.", content: {application/json: {schema: Task}}}
        409: Conflict
    """
    body = json_body()
    name, labels = body.get("name"), body.get("labels")
    if not isinstance(name, str) or not NAME.match(name):
        raise ApiError(
            "'name' must be lowercase letters, digits, '_' or '-', starting with a letter."
        )
    if (
        not isinstance(labels, list)
        or len(labels) < 2
        or not all(isinstance(x, str) and NAME.match(x) for x in labels)
        or len(set(labels)) != len(labels)
    ):
        raise ApiError(
            "'labels' must be a list of at least 2 distinct lowercase names, e.g. ['cat', 'dog']."
        )
    if db.session.scalar(db.select(Task).where(Task.name == name)):
        raise ApiError(f"A task named {name!r} already exists.", 409)
    features = body.get("features", current_app.config["NEW_TASK_FEATURES"])
    if features not in TASK_FEATURES:
        raise ApiError(f"'features' must be one of {sorted(TASK_FEATURES)}. Received: {features!r}")
    task = Task(
        name=name,
        labels=labels,
        description=str(body.get("description", ""))[:255],
        face_crop=bool(body.get("face_crop", True)),
        config=TASK_FEATURES[features],
    )
    db.session.add(task)
    db.session.commit()
    return jsonify(
        {"name": task.name, "labels": task.labels, "model_version": None, "metrics": None}
    ), 201


def _task_json(task: Task) -> dict:
    mv = registry.deployed(task.name)
    return {
        "name": task.name,
        "labels": task.labels,
        "description": task.description,
        "enabled": task.enabled,
        "model_version": mv.version if mv else None,
        "metrics": mv.metrics if mv else None,
    }


@bp.get("/api/admin/tasks")
@admin_required
def all_tasks():
    """Every task, switched off or not.
    ---
    get:
      summary: List every task, including those switched off (admin)
      responses:
        200: {description: "Every task.", content: {application/json: {schema: {type: array, items: Task}}}}
    """
    return jsonify([_task_json(t) for t in db.session.scalars(db.select(Task).order_by(Task.id))])


@bp.patch("/api/admin/tasks/<name>")
@admin_required
def update_task(name: str):
    """Switch a task on or off.
    ---
    patch:
      summary: Switch a task on or off (a switched-off task leaves GET /api/tasks and the pages)
      requestBody: {required: true, content: {application/json: {schema: TaskUpdate}}}
      responses:
        200: {description: "Updated.", content: {application/json: {schema: Task}}}
        404: NotFound
    """
    task = db.session.scalar(db.select(Task).where(Task.name == name))
    if task is None:
        raise ApiError(f"No task named {name!r}.", 404)
    enabled = json_body().get("enabled")
    if not isinstance(enabled, bool):
        raise ApiError(f"'enabled' must be true or false. Received: {enabled!r}")
    task.enabled = enabled
    db.session.commit()
    current_app.logger.info("%s switched task %s %s", _actor(), name, "on" if enabled else "off")
    return jsonify(_task_json(task))


@bp.post("/api/admin/retrain")
@admin_required
def retrain():
    """Queue a retrain job.
    ---
    post:
      summary: Retrain a task or a style model (queued)
      requestBody: {required: true, content: {application/json: {schema: RetrainRequest}}}
      responses:
        202: {description: "Queued.", content: {application/json: {schema: RetrainAccepted}}}
        404: NotFound
        409:
          description: "A retrain of the same target is queued or running; job_id names it."
          content: {application/json: {schema: Busy}}
    """
    job = targets.start_retrain(targets.from_request(json_body()), _actor())
    return jsonify({"job_id": job.id}), 202


@bp.get("/api/admin/jobs/<job_id>")
@admin_required
def job_status(job_id: str):
    """Status, progress, log tail and result of a job.
    ---
    get:
      summary: A job's status, progress, log tail and result
      responses:
        200: {description: "The job.", content: {application/json: {schema: Job}}}
    """
    job = get_or_404(Job, job_id, "job")
    return jsonify(describe_job(job))


@bp.get("/api/admin/models/<target>")
@admin_required
def list_models(target: str):
    """Every version of a target, newest first.
    ---
    get:
      summary: Versions of a target, newest first
      responses:
        200:
          description: "Every version."
          content: {application/json: {schema: {type: array, items: ModelVersion}}}
    """
    current = registry.deployed(target)
    rows = db.session.scalars(
        db.select(ModelVersion)
        .where(ModelVersion.target == target)
        .order_by(ModelVersion.id.desc())
    ).all()
    if not rows and db.session.scalar(db.select(Task).where(Task.name == target)) is None:
        raise ApiError(f"No models or task named {target!r}.", 404)
    return jsonify([registry.describe(mv, current.id if current else None) for mv in rows])


@bp.post("/api/admin/models/<target>/<version>/promote")
@admin_required
def promote(target: str, version: str):
    """Deploy a version of a target.
    ---
    post:
      summary: Deploy a version
      responses:
        200: {description: "Now deployed.", content: {application/json: {schema: Deployed}}}
        409: Conflict
    """
    mv = registry.promote(target, version, actor=_actor(), reason="promoted by an admin")
    db.session.commit()
    return jsonify({"target": target, "deployed": mv.version})


@bp.post("/api/admin/models/<target>/rollback")
@admin_required
def rollback(target: str):
    """Deploy the version that was deployed before the current one.
    ---
    post:
      summary: Deploy the previously deployed version again
      responses:
        200:
          description: "The version now deployed."
          content: {application/json: {schema: Deployed}}
        409: {description: "Nothing to roll back to.", content: {application/json: {schema: Error}}}
    """
    mv = registry.rollback(target, actor=_actor())
    db.session.commit()
    return jsonify({"target": target, "deployed": mv.version})
