"""Admin API for classification tasks: create, list every one, switch on or off."""

from flask import current_app, jsonify

from webapp.admin import bp
from webapp.auth.access import admin_required, current_admin
from webapp.classification import tasks
from webapp.registry import versions as registry
from webapp.tables import Task
from webapp.web.requests import json_body


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
    tasks.switch(task, json_body().get("enabled"), current_admin().username)
    return jsonify(_task_json(task))
