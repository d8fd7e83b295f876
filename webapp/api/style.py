"""Style-transfer endpoints."""
from flask import Response, jsonify, request

from .. import style_service as service
from ..errors import ApiError
from ..extensions import db
from ..models import Job, Stylization
from ..security import client_fingerprint, rate_limited
from ..services import storage
from . import bp
from .helpers import get_or_404, json_body, upload


@bp.get("/styles")
def list_styles():
    """The style methods available now.
    ---
    get:
      summary: List the style methods
      responses:
        200:
          description: "Every method a user can pick now."
          content: {application/json: {schema: {type: array, items: StyleMethod}}}
    """
    return jsonify(service.list_methods())


@bp.post("/stylize")
@rate_limited("upload", "RATE_LIMIT_UPLOADS")
def stylize():
    """Queue a stylization; answer at once with where to watch it.
    ---
    post:
      summary: Restyle a photo (queued)
      requestBody: {required: true, content: {multipart/form-data: {schema: StylizeUpload}}}
      responses:
        202:
          description: "Queued; poll status_url."
          content: {application/json: {schema: StylizeAccepted}}
    """
    method, params = service.parse_params(request.form)
    content = upload("content")
    style = upload("style", required=False)
    row = service.create(method, params, content, style, client_fingerprint())
    return jsonify({"id": str(row.id), "status_url": f"/api/stylize/{row.id}"}), 202


@bp.get("/stylize/<int:stylization_id>")
def stylize_status(stylization_id: int):
    """Status, progress and result link of a stylization.
    ---
    get:
      summary: Status and progress of a stylization
      responses:
        200: {description: "Its state.", content: {application/json: {schema: Stylization}}}
    """
    return jsonify(service.describe(get_or_404(Stylization, stylization_id, "stylization")))


def _image_response(key: str, mimetype: str) -> Response:
    response = Response(storage().get(key), mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/stylize/<int:stylization_id>/result")
def stylize_result(stylization_id: int):
    """The finished picture (PNG); 404 until it is done.
    ---
    get:
      summary: The finished picture
      responses:
        200:
          description: "The picture."
          content:
            image/png: {schema: {type: string, format: binary}}
            image/jpeg: {schema: {type: string, format: binary}}
    """
    row = get_or_404(Stylization, stylization_id, "stylization")
    if row.status != "done" or not row.result_key:
        raise ApiError(f"Stylization {stylization_id} is {row.status}; the result exists once it is done.", 404)
    return _image_response(row.result_key, "image/png")


@bp.get("/stylize/<int:stylization_id>/<any(content, style):which>")
def stylize_input(stylization_id: int, which: str):
    """One of the stylization's input pictures.
    ---
    get:
      summary: An input picture of a stylization (its uploader or an admin)
      responses:
        200:
          description: "The picture."
          content: {image/*: {schema: {type: string, format: binary}}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
    """
    row = get_or_404(Stylization, stylization_id, "stylization")
    image = row.content_image if which == "content" else row.style_image
    if image is None:
        raise ApiError(f"Stylization {stylization_id} has no {which} image.", 404)
    return _image_response(image.storage_key, image.mimetype)


@bp.post("/stylize/<int:stylization_id>/rating")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
def rate(stylization_id: int):
    """Rate a finished stylization 1-5 stars.
    ---
    post:
      summary: Rate a finished stylization
      requestBody: {required: true, content: {application/json: {schema: RatingRequest}}}
      responses:
        201: {description: "Recorded.", content: {application/json: {schema: Rating}}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
        409: Conflict
    """
    row = get_or_404(Stylization, stylization_id, "stylization")
    rating = service.rate(row, json_body(), client_fingerprint())
    return jsonify({"id": rating.id, "stars": rating.stars}), 201


@bp.post("/stylize/<int:stylization_id>/cancel")
def cancel(stylization_id: int):
    """Ask the worker to stop a queued or running stylization.
    ---
    post:
      summary: Cancel a stylization (its uploader or an admin)
      responses:
        202:
          description: "Cancelled, or asked to stop."
          content: {application/json: {schema: Stylization}}
        403: {description: "Not the uploader.", content: {application/json: {schema: Error}}}
        409: Conflict
    """
    row = get_or_404(Stylization, stylization_id, "stylization")
    if row.status in ("done", "failed"):
        raise ApiError(f"Stylization {stylization_id} has already ended ({row.status}).", 409)
    job = db.session.get(Job, row.job_id)
    job.cancel_requested = True
    if job.status == "queued":
        job.status = row.status = "failed"
        job.error = row.error = "Cancelled."
    db.session.commit()
    return jsonify(service.describe(row)), 202
