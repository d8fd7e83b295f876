"""Classification endpoints."""

from flask import jsonify, request

from webapp import retention
from webapp.api import bp
from webapp.auth.access import current_admin, require_owner
from webapp.classification import feedback as answers
from webapp.classification import service
from webapp.tables import Classification
from webapp.web.identity import owner_id, voter_id
from webapp.web.requests import json_body, public_or_404, upload
from webapp.web.security import rate_limited


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
    for task in service.enabled_tasks():
        mv = service.deployed_version(task)
        out.append(
            {
                "name": task.name,
                "labels": task.labels,
                "description": task.description,
                "model_version": mv.version if mv else None,
                "metrics": mv.metrics if mv else None,
            }
        )
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
    retention.check_quota(voter_id(), owner_id(), len(image.data))
    row = service.classify(task, image, voter_id(), owner_id(create=True))
    return jsonify(service.describe(row))


@bp.get("/classify/<classification_id>")
def get_classification(classification_id: str):
    """A classification as its POST answered (its uploader or an admin only).
    ---
    get:
      summary: Read a classification again (its uploader or an admin)
      responses:
        200:
          description: "The same body as the POST answered."
          content: {application/json: {schema: Classification}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
        404: NotFound
    """
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "read this classification")
    return jsonify(service.describe(row))


@bp.post("/classify/<classification_id>/feedback")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
def feedback(classification_id: str):
    """Record the true label of one face of a classified photo, or that it holds no face.
    ---
    post:
      summary: Give the true label of a face in a classified photo (its uploader or an admin)
      description: >-
        `{"label", "face"}` names the face (index in `faces`, default 0, the largest);
        `{"no_face": true}` says the photo holds no face (kept for review, never a training
        label). A second answer about the same face replaces the earlier one.
      requestBody: {required: true, content: {application/json: {schema: FeedbackRequest}}}
      responses:
        201: {description: "What was stored.", content: {application/json: {schema: FeedbackResult}}}
        400: {description: "A label the task does not have.", content: {application/json: {schema: Error}}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
        404: {description: "Unknown id or face.", content: {application/json: {schema: Error}}}
        409: {description: "The task is switched off.", content: {application/json: {schema: Error}}}
    """
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "say what this photo shows")
    said = answers.parse(row, json_body())
    admin = current_admin()
    fb = answers.record(row, said, voter_id(), reviewer=admin.username if admin else None)
    return jsonify(answers.describe(fb)), 201


@bp.delete("/classify/<classification_id>")
def delete_classification(classification_id: str):
    """Delete a classified photo, its labels and the picture (its uploader or an admin only).
    ---
    delete:
      summary: Delete a classification and everything derived from it (its uploader or an admin)
      description: >-
        The row, its labels and its picture are gone (a picture another upload or an imported
        example still uses stays for that one); labels already used by a deployed model stay in
        that model. The audit log records the deletion.
      responses:
        204: {description: "Deleted."}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
        404: NotFound
    """
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "delete it")
    admin = current_admin()
    retention.delete_classification(row, actor=admin.username if admin else "uploader")
    return "", 204
