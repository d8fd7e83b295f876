"""Style-transfer endpoints.

Named for the resource it serves, as each view module is: the stylizations of `webapp/tables/style.py`.
"""

import re

from flask import Response, jsonify, url_for

from ml.style import methods as ml_methods
from webapp import retention
from webapp.api import bp
from webapp.apidocs.schemas import (
    RatingRequestSchema,
    RatingSchema,
    StyleMethodSchema,
    StylizationSchema,
    StylizeAcceptedSchema,
    StylizeUploadSchema,
)
from webapp.apidocs.spec import BINARY, NOT_THE_UPLOADER
from webapp.auth.access import current_admin, require_owner
from webapp.style import service
from webapp.tables import Stylization
from webapp.tables.columns import iso
from webapp.web.identity import is_owner, owner_id, voter_id
from webapp.web.requests import public_or_404, upload
from webapp.web.security import rate_limited


@bp.get("/styles")
@bp.doc(summary="List the style methods")
@bp.response(200, StyleMethodSchema(many=True), description="Every method a user can pick now.")
def list_styles():
    """The style methods available now."""
    return jsonify(service.list_methods())


@bp.post("/stylize")
@rate_limited("upload", "RATE_LIMIT_UPLOADS")
@bp.doc(summary="Restyle a photo (queued)")
@bp.arguments(StylizeUploadSchema, location="files")
@bp.response(202, StylizeAcceptedSchema, description="Queued; poll status_url.")
def stylize(form: dict):
    """Queue a stylization; answer at once with where to watch it."""
    service.check_queue_cap(voter_id())
    method, params = service.parse_params(form)
    content = upload("content")
    style = upload("style", required=False)
    incoming = len(content.data) + (len(style.data) if style else 0)
    retention.check_quota(voter_id(), owner_id(), incoming)
    row = service.create(method, params, content, style, voter_id(), owner_id(create=True))
    return jsonify({"id": row.public_id, "status_url": f"/api/stylize/{row.public_id}"}), 202


def _find(stylization_id: str) -> Stylization:
    return public_or_404(Stylization, stylization_id, "stylization")


@bp.get("/stylize/<stylization_id>")
@bp.doc(summary="Status and progress of a stylization")
@bp.response(200, StylizationSchema, description="Its state.")
def stylize_status(stylization_id: str):
    """Status, progress and result link of a stylization (anyone holding its id: a share link)."""
    return jsonify(describe(_find(stylization_id)))


def _image_response(data: bytes, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/stylize/<stylization_id>/result")
@bp.doc(summary="The finished picture")
@bp.response(200, BINARY, content_type="image/png", description="The picture.")
@bp.alt_response(200, schema=BINARY, content_type="image/jpeg", description="The picture.")
def stylize_result(stylization_id: str):
    """The finished picture (PNG); 404 until it is done."""
    row = _find(stylization_id)
    return _image_response(service.result_picture(row), "image/png")


@bp.get("/stylize/<stylization_id>/<any(content, style):which>")
@bp.doc(summary="An input picture of a stylization (its uploader or an admin)")
@bp.response(200, BINARY, content_type="image/*", description="The picture.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
def stylize_input(stylization_id: str, which: str):
    """One of the stylization's input pictures (its uploader or an admin only)."""
    row = _find(stylization_id)
    require_owner(row, "see the pictures it was made from")
    response = _image_response(*service.input_picture(row, which))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/stylize/<stylization_id>/rating")
@rate_limited("feedback", "RATE_LIMIT_FEEDBACK")
@bp.doc(
    summary="Rate a finished stylization (its uploader or an admin; a second rating replaces "
    "the first)"
)
@bp.arguments(RatingRequestSchema)
@bp.response(201, RatingSchema, description="Recorded.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(409, response="Conflict")
def rate(body: dict, stylization_id: str):
    """Rate a finished stylization 1-5 stars (its uploader or an admin; one rating per address)."""
    row = _find(stylization_id)
    require_owner(row, "rate it")
    rating = service.rate(row, body, voter_id())
    return jsonify({"stars": rating.stars, "comment": rating.comment}), 201


@bp.post("/stylize/<stylization_id>/cancel")
@bp.doc(summary="Cancel a stylization (its uploader or an admin)")
@bp.response(202, StylizationSchema, description="Cancelled, or asked to stop.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(409, response="Conflict")
def cancel(stylization_id: str):
    """Ask the worker to stop a queued or running stylization (its uploader or an admin only)."""
    row = _find(stylization_id)
    require_owner(row, "cancel it")
    service.cancel(row)
    return jsonify(describe(row)), 202


@bp.delete("/stylize/<stylization_id>")
@bp.doc(
    summary="Delete a stylization and everything derived from it (its uploader or an admin)",
    description="A queued or running job is cancelled; the row, its result, its ratings and its "
    "input pictures are gone (a picture another record still uses stays for that one). The "
    "audit log records the deletion.",
)
@bp.response(204, description="Deleted.")
@bp.alt_response(403, **NOT_THE_UPLOADER)
@bp.alt_response(404, response="NotFound")
def delete_stylization(stylization_id: str):
    """Delete a stylization, its result, ratings and pictures (its uploader or an admin only)."""
    row = _find(stylization_id)
    require_owner(row, "delete it")
    admin = current_admin()
    retention.delete_stylization(row, actor=admin.username if admin else "uploader")
    return "", 204


def describe(row: Stylization) -> dict:
    """The API's view of a stylization; input pictures and ratings only for its uploader."""
    done, pid, mine = row.status == "done", row.public_id, is_owner(row)
    return {
        "id": pid,
        "method": row.method,
        "status": row.status,
        "progress": round(row.progress, 4),
        "result_url": url_for("api.stylize_result", stylization_id=pid) if done else None,
        "error": public_error(row.error),
        "seconds": row.seconds,
        "params": row.params,
        "strength": (row.params or {}).get("strength"),
        "preset": _preset(row),
        "yours": mine,
        "content_url": url_for("api.stylize_input", stylization_id=pid, which="content")
        if mine
        else None,
        "style_url": url_for("api.stylize_input", stylization_id=pid, which="style")
        if mine and row.style_image_id
        else None,
        "created": iso(row.created),
        "stats": row.stats,
        "rating": _client_rating(row.id, voter_id()) if mine else None,
    }


GENERIC_FAILURE = (
    "The stylization failed on our side; the details are in the job log for an admin. "
    "Try again, or another method or a smaller size."
)
# What the product itself says when it ends a job (cancel, a dead worker, a time limit): safe to
# show anyone. Anything else is an exception's text, which may name server paths or libraries.
PUBLIC_REASONS = re.compile(
    r"^(Cancelled|The worker stopped|This stylization has no job|The job queue is unavailable)\b"
    r"|time limit|took longer than",
    re.IGNORECASE,
)
_INTERNAL = re.compile(r"Error\b|Exception\b|Traceback|(/[\w.@~+-]+){2,}|[A-Za-z]:\\|\.py\b")


def public_error(error: str | None) -> str | None:
    """Why a stylization failed, as anyone holding its link may read it: never exception text or
    server paths (an admin reads them here, and the job log keeps them)."""
    if error is None or current_admin() is not None:
        return error
    if PUBLIC_REASONS.search(error) and not _INTERNAL.search(error):
        return error
    return GENERIC_FAILURE


def _preset(row: Stylization) -> dict | None:
    """{"id", "name"} of the ready-made style a stylization used; None for methods without presets."""
    method = ml_methods.find(row.method)
    if method is None or not method.takes_preset or "preset" not in (row.params or {}):
        return None
    preset_id = int(row.params["preset"])
    return {"id": preset_id, "name": method.preset_name(preset_id)}


def _client_rating(stylization_id: int, client: str) -> dict | None:
    """This client's rating of a stylization, so a revisited page shows its stars."""
    rating = service.client_rating(stylization_id, client)
    return {"stars": rating.stars, "comment": rating.comment} if rating else None
