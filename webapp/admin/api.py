"""Admin API: tasks, retraining jobs, the model registry."""
import re

from flask import jsonify

from webapp.registry import versions as registry
from webapp.auth.access import admin_required, current_admin
from webapp.web.errors import ApiError
from webapp.extensions import db
from webapp.jobs.runner import create_job, enqueue
from webapp.models import Job, ModelVersion, Task
from webapp.models.base import iso
from webapp.web.requests import get_or_404, json_body
from webapp.admin import bp

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


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
        raise ApiError("'name' must be lowercase letters, digits, '_' or '-', starting with a letter.")
    if (not isinstance(labels, list) or len(labels) < 2
            or not all(isinstance(x, str) and NAME.match(x) for x in labels) or len(set(labels)) != len(labels)):
        raise ApiError("'labels' must be a list of at least 2 distinct lowercase names, e.g. ['cat', 'dog'].")
    if db.session.scalar(db.select(Task).where(Task.name == name)):
        raise ApiError(f"A task named {name!r} already exists.", 409)
    task = Task(name=name, labels=labels, description=str(body.get("description", ""))[:255],
                face_crop=bool(body.get("face_crop", True)))
    db.session.add(task)
    db.session.commit()
    return jsonify({"name": task.name, "labels": task.labels, "model_version": None, "metrics": None}), 201


def retrain_target(body: dict) -> str:
    """The registry target a retrain request names (a task, or a style model)."""
    if isinstance(body.get("task"), str):
        if db.session.scalar(db.select(Task).where(Task.name == body["task"])) is None:
            raise ApiError(f"No task named {body['task']!r}.", 404)
        return body["task"]
    style = body.get("style")
    if isinstance(style, str):
        known = db.session.scalar(db.select(ModelVersion.id).where(ModelVersion.target == style).limit(1))
        if style == "preset":
            raise ApiError("The preset network's 26 styles are fixed; retrain 'arbitrary' to learn from ratings.")
        if style not in ("adain", "arbitrary") and known is None:
            raise ApiError(f"No style model named {style!r}; register one first (flask models register).", 404)
        return style
    raise ApiError('Send {"task": "<task name>"} or {"style": "arbitrary" | "adain" | "<fixed style>"}.')


def start_retrain(target: str, actor: str, kind_hint: str = "task") -> Job:
    """Queue a retrain of `target`, or 409 with the id of the one already queued or running."""
    busy = db.session.scalar(db.select(Job).where(Job.kind == "retrain", Job.target == target,
                                                  Job.status.in_(("queued", "running"))))
    if busy is not None:
        raise ApiError(f"A retrain of {target!r} is already {busy.status}.", 409, job_id=busy.id)
    job = create_job("retrain", target=target, params={"target_type": kind_hint}, created_by=actor)
    db.session.commit()
    enqueue(job)
    return job


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
    body = json_body()
    target = retrain_target(body)
    job = start_retrain(target, _actor(), "task" if "task" in body else "style")
    return jsonify({"job_id": job.id}), 202


def describe_job(job: Job) -> dict:
    """The API's view of a job."""
    return {"id": job.id, "kind": job.kind, "target": job.target, "status": job.status,
            "progress": round(job.progress, 4), "log_tail": job.log_tail(), "result": job.result,
            "error": job.error, "created": iso(job.created), "started": iso(job.started),
            "finished": iso(job.finished), "created_by": job.created_by}


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
    rows = db.session.scalars(db.select(ModelVersion).where(ModelVersion.target == target)
                              .order_by(ModelVersion.id.desc())).all()
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
