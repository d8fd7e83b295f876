"""The public JSON API under /api (every route is described at /api/docs)."""

from webapp.apidocs.spec import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from webapp.api import classify, style, style_presets  # noqa: E402,F401
