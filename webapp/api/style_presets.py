"""The preset styles' thumbnails: the sample photo painted in each, rendered once by the style worker."""

from flask import Response, jsonify

from webapp.api import bp
from webapp.style import builtin as style_builtin
from webapp.style import service


@bp.get("/styles/preset/<int:preset_id>/thumbnail.jpg")
def preset_thumbnail(preset_id: int):
    """A preset style's thumbnail (JPEG); 202 while the style worker is still rendering it.
    ---
    get:
      summary: A preset style's thumbnail (the sample photo painted in that style)
      description: >
        On a first start the style worker renders the thumbnails one after another; until this
        one exists the answer is 202 with `Retry-After` (seconds): ask again then.
        `GET /api/styles/preset/ready` lists the ready ones.
      responses:
        200:
          description: "The thumbnail."
          content: {image/jpeg: {schema: {type: string, format: binary}}}
        202:
          description: "Not rendered yet; retry after Retry-After seconds."
          headers: {Retry-After: {schema: {type: integer}}}
          content: {application/json: {schema: Error}}
        404: NotFound
    """
    data = service.preset_thumbnail(preset_id)
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/styles/preset/ready")
def presets_ready():
    """How far a first start has prepared the fast styles (the home page and gallery poll it).
    ---
    get:
      summary: Whether the fast style networks and the preset thumbnails are ready
      responses:
        200:
          description: "Readiness of the fast styles."
          content: {application/json: {schema: StylesReady}}
    """
    response = jsonify(style_builtin.readiness())
    response.headers["Cache-Control"] = "no-store"
    return response
