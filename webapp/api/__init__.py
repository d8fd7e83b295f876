"""The public JSON API under /api (CONTRACT.md section 3)."""
from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from webapp.api import classify, style, style_presets  # noqa: E402,F401
