"""The preset styles' thumbnails: the sample photo painted in each, rendered once by the style worker."""

from flask import Response

from webapp.api import bp
from webapp.registry import versions as registry
from webapp.storage.service import storage
from webapp.style import builtin as style_builtin
from webapp.web.errors import ApiError


@bp.get("/styles/preset/<int:preset_id>/thumbnail.jpg")
def preset_thumbnail(preset_id: int):
    """A preset style's thumbnail (JPEG); 404 while the style worker has not rendered it yet.
    ---
    get:
      summary: A preset style's thumbnail (the sample photo painted in that style)
      responses:
        200:
          description: "The thumbnail."
          content: {image/jpeg: {schema: {type: string, format: binary}}}
        404: NotFound
    """
    mv = registry.deployed("preset")
    if mv is None or preset_id not in style_builtin.preset_ids(mv):
        raise ApiError(f"No preset style {preset_id} (yet): GET /api/styles lists them.", 404)
    try:
        data = storage().get(style_builtin.thumbnail_key(mv, preset_id))
    except KeyError:
        raise ApiError(
            "This thumbnail is being rendered by the style worker; try again in a moment.", 404
        ) from None
    response = Response(data, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
