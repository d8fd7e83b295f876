"""Pages blueprint: the HTML a person sees; the JavaScript on each page calls /api."""

from flask import Blueprint

bp = Blueprint("pages", __name__)

from webapp.pages import routes  # noqa: E402,F401  (registers the views on bp)
