"""Classification endpoints."""

from flask import jsonify

from webapp import retention
from webapp.api import bp
from webapp.apidocs.schemas import (
    ClassificationSchema,
    ClassifyUploadSchema,
    ErrorSchema,
    FeedbackRequestSchema,
    FeedbackResultSchema,
    TaskSchema,
)
from webapp.apidocs.spec import NOT_THE_UPLOADER
from webapp.auth.access import current_admin, require_owner
from webapp.classification import feedback as answers
from webapp.classification import service
from webapp.tables import Classification
from webapp.web.identity import owner_id, voter_id
from webapp.web.requests import public_or_404, upload
from webapp.web.security import rate_limited


@bp.get("/tasks")
@bp.doc(summary="List the classification tasks")
@bp.response(200, TaskSchema(many=True), description="Every task.")
def list_tasks():
    """Every task with its labels and deployed model."""
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
@bp.doc(
    summary="Classify a photo",
    description="Without a deployed model the upload is kept and the answer has label null.",
)
@bp.arguments(ClassifyUploadSchema, location="files")
@bp.response(200, ClassificationSchema, description="The model's answer.")
@bp.alt_response(404, response="NotFound")
def classify(form: dict):
    """Classify an uploaded photo with the task's deployed model."""
    task = service.find_task(form.get("task") or None)
    image = upload("image")
    retention.check_quota(voter_id(), owner_id(), len(image.data))
    row = service.classify(task, image, voter_id(), owner_id(create=True))
    return jsonify(service.describe(row))


@bp.get("/classify/<classification_id>")
@bp.doc(summary="Read a classification again (its uploader or an admin)")
@bp.response(200, ClassificationSchema, description="The same body as the POST answered.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(404, response="NotFound")
def get_classification(classification_id: str):
    """A classification as its POST answered (its uploader or an admin only)."""
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "read this classification")
    return jsonify(service.describe(row))


@bp.post("/classify/<classification_id>/feedback")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
@bp.doc(
    summary="Give the true label of a face in a classified photo (its uploader or an admin)",
    description='`{"label", "face"}` names the face (index in `faces`, default 0, the largest); '
    '`{"no_face": true}` says the photo holds no face (kept for review, never a training '
    "label). A second answer about the same face replaces the earlier one.",
)
@bp.arguments(FeedbackRequestSchema)
@bp.response(201, FeedbackResultSchema, description="What was stored.")
@bp.alt_response(400, schema=ErrorSchema, description="A label the task does not have.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(404, schema=ErrorSchema, description="Unknown id or face.")
@bp.alt_response(409, schema=ErrorSchema, description="The task is switched off.")
def feedback(body: dict, classification_id: str):
    """Record the true label of one face of a classified photo, or that it holds no face."""
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "say what this photo shows")
    said = answers.parse(row, body)
    admin = current_admin()
    fb = answers.record(row, said, voter_id(), reviewer=admin.username if admin else None)
    return jsonify(answers.describe(fb)), 201


@bp.delete("/classify/<classification_id>")
@bp.doc(
    summary="Delete a classification and everything derived from it (its uploader or an admin)",
    description="The row, its labels and its picture are gone (a picture another upload or an "
    "imported example still uses stays for that one); labels already used by a deployed model "
    "stay in that model. The audit log records the deletion.",
)
@bp.response(204, description="Deleted.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(404, response="NotFound")
def delete_classification(classification_id: str):
    """Delete a classified photo, its labels and the picture (its uploader or an admin only)."""
    row = public_or_404(Classification, classification_id, "classification")
    require_owner(row, "delete it")
    admin = current_admin()
    retention.delete_classification(row, actor=admin.username if admin else "uploader")
    return "", 204
