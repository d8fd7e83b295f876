"""Admin API: tasks, retraining jobs, the model registry."""

from flask import current_app, jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.classification import tasks
from webapp.jobs.runner import describe_job
from webapp.registry import catalog, targets
from webapp.registry import versions as registry
from webapp.tables import Job, Task
from webapp.web.requests import get_or_404, json_body


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
    task = tasks.create(
        body.get("name"),
        body.get("labels"),
        body.get("features", current_app.config["NEW_TASK_FEATURES"]),
        description=str(body.get("description", "")),
        face_crop=body.get("face_crop", True),
    )
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
    return jsonify([_task_json(t) for t in tasks.every()])


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
    task = tasks.named(name)
    tasks.switch(task, json_body().get("enabled"), _actor())
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
    return jsonify(catalog.versions_of(target))


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
    mv = catalog.promote(target, version, _actor())
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
    mv = catalog.rollback(target, _actor())
    return jsonify({"target": target, "deployed": mv.version})
