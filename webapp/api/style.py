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
    """The style methods available now."""
    return jsonify(service.list_methods())


@bp.post("/stylize")
@rate_limited("upload", "RATE_LIMIT_UPLOADS")
def stylize():
    """Queue a stylization; answer at once with where to watch it."""
    method, params = service.parse_params(request.form)
    content = upload("content")
    style = upload("style", required=False)
    row = service.create(method, params, content, style, client_fingerprint())
    return jsonify({"id": row.id, "status_url": f"/api/stylize/{row.id}"}), 202


@bp.get("/stylize/<int:stylization_id>")
def stylize_status(stylization_id: int):
    """Status, progress and result link of a stylization."""
    return jsonify(service.describe(get_or_404(Stylization, stylization_id, "stylization")))


def _image_response(key: str, mimetype: str) -> Response:
    response = Response(storage().get(key), mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/stylize/<int:stylization_id>/result")
def stylize_result(stylization_id: int):
    """The finished picture (PNG); 404 until it is done."""
    row = get_or_404(Stylization, stylization_id, "stylization")
    if row.status != "done" or not row.result_key:
        raise ApiError(f"Stylization {stylization_id} is {row.status}; the result exists once it is done.", 404)
    return _image_response(row.result_key, "image/png")


@bp.get("/stylize/<int:stylization_id>/<any(content, style):which>")
def stylize_input(stylization_id: int, which: str):
    """One of the stylization's input pictures."""
    row = get_or_404(Stylization, stylization_id, "stylization")
    image = row.content_image if which == "content" else row.style_image
    if image is None:
        raise ApiError(f"Stylization {stylization_id} has no {which} image.", 404)
    return _image_response(image.storage_key, image.mimetype)


@bp.post("/stylize/<int:stylization_id>/rating")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
def rate(stylization_id: int):
    """Rate a finished stylization 1-5 stars."""
    row = get_or_404(Stylization, stylization_id, "stylization")
    rating = service.rate(row, json_body(), client_fingerprint())
    return jsonify({"id": rating.id, "stars": rating.stars}), 201


@bp.post("/stylize/<int:stylization_id>/cancel")
def cancel(stylization_id: int):
    """Ask the worker to stop a queued or running stylization."""
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
