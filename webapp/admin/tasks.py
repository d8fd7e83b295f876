"""Admin API for classification tasks: create, list every one, switch on or off.

Named for the resource it serves, as each admin module is: `classification/tasks.py`'s tasks.
"""

from flask import current_app, jsonify

from webapp.admin import bp
from webapp.apidocs.schemas import TaskRequestSchema, TaskSchema, TaskUpdateSchema
from webapp.auth.access import admin_required, current_admin
from webapp.classification import tasks
from webapp.registry import versions as registry
from webapp.tables import Task


@bp.post("/api/admin/tasks")
@admin_required
@bp.doc(summary="Create a classification task")
@bp.arguments(TaskRequestSchema)
@bp.response(201, TaskSchema, description="Created.")
@bp.alt_response(409, response="Conflict")
def create_task(body: dict):
    """Create a classification task with its labels."""
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
@bp.doc(summary="List every task, including those switched off (admin)")
@bp.response(200, TaskSchema(many=True), description="Every task.")
def all_tasks():
    """Every task, switched off or not."""
    return jsonify([_task_json(t) for t in tasks.every()])


@bp.patch("/api/admin/tasks/<name>")
@admin_required
@bp.doc(summary="Switch a task on or off (a switched-off task leaves GET /api/tasks and the pages)")
@bp.arguments(TaskUpdateSchema)
@bp.response(200, TaskSchema, description="Updated.")
@bp.alt_response(404, response="NotFound")
def update_task(body: dict, name: str):
    """Switch a task on or off."""
    task = tasks.named(name)
    tasks.switch(task, body.get("enabled"), current_admin().username)
    return jsonify(_task_json(task))
