"""Classification endpoints."""
from flask import jsonify, request

from .. import classify_service as service
from ..extensions import db
from ..models import Classification, Task
from ..security import client_fingerprint, rate_limited
from . import bp
from .helpers import get_or_404, json_body, upload


@bp.get("/tasks")
def list_tasks():
    """Every task with its labels and deployed model.
    ---
    get:
      summary: List the classification tasks
      responses:
        200:
          description: "Every task."
          content: {application/json: {schema: {type: array, items: Task}}}
    """
    out = []
    for task in db.session.scalars(db.select(Task).order_by(Task.id)):
        mv = service.registry.deployed(task.name)
        out.append({"name": task.name, "labels": task.labels, "description": task.description,
                    "model_version": mv.version if mv else None, "metrics": mv.metrics if mv else None})
    return jsonify(out)


@bp.post("/classify")
@rate_limited("upload", "RATE_LIMIT_UPLOADS")
def classify():
    """Classify an uploaded photo with the task's deployed model.
    ---
    post:
      summary: Classify a photo
      description: Without a deployed model the upload is kept and the answer has label null.
      requestBody: {required: true, content: {multipart/form-data: {schema: ClassifyUpload}}}
      responses:
        200:
          description: "The model's answer."
          content: {application/json: {schema: Classification}}
        404: NotFound
    """
    task = service.find_task(request.form.get("task") or None)
    image = upload("image")
    row = service.classify(task, image, client_fingerprint())
    return jsonify(service.describe(row))


@bp.post("/classify/<int:classification_id>/feedback")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
def feedback(classification_id: int):
    """Record the true label of a classified photo.
    ---
    post:
      summary: Give the true label of a classified photo (its uploader or an admin)
      requestBody: {required: true, content: {application/json: {schema: FeedbackRequest}}}
      responses:
        201: {description: "Recorded.", content: {application/json: {schema: FeedbackResult}}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
    """
    row = get_or_404(Classification, classification_id, "classification")
    body = json_body()
    fb = service.add_feedback(row, body.get("label"), client_fingerprint())
    return jsonify({"agrees": fb.agrees}), 201
