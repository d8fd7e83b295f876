"""The preset styles' thumbnails: the sample photo painted in each, rendered once by the style worker."""

from flask import Response, jsonify

from webapp.api import bp
from webapp.apidocs.schemas import ErrorSchema, StylesReadySchema
from webapp.apidocs.spec import BINARY
from webapp.style import builtin as style_builtin
from webapp.style import service


@bp.get("/styles/preset/<int:preset_id>/thumbnail.jpg")
@bp.doc(
    summary="A preset style's thumbnail (the sample photo painted in that style)",
    description="On a first start the style worker renders the thumbnails one after another; "
    "until this one exists the answer is 202 with `Retry-After` (seconds): ask again then. "
    "`GET /api/styles/preset/ready` lists the ready ones.\n",
)
@bp.response(200, BINARY, content_type="image/jpeg", description="The thumbnail.")
@bp.alt_response(
    202,
    schema=ErrorSchema,
    description="Not rendered yet; retry after Retry-After seconds.",
    headers={"Retry-After": {"schema": {"type": "integer"}}},
    success=True,
)
@bp.alt_response(404, response="NotFound")
def preset_thumbnail(preset_id: int):
    """A preset style's thumbnail (JPEG); 202 while the style worker is still rendering it."""
    data = service.preset_thumbnail(preset_id)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/styles/preset/ready")
@bp.doc(summary="Whether the fast style networks and the preset thumbnails are ready")
@bp.response(200, StylesReadySchema, description="Readiness of the fast styles.")
def presets_ready():
    """How far a first start has prepared the fast styles (the home page and gallery poll it)."""
    response = jsonify(style_builtin.readiness())
    response.headers["Cache-Control"] = "no-store"
    return response
