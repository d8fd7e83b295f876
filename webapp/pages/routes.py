"""Views of the pages blueprint: each renders a template; the data comes from /api via JS.

Each view package keeps its blueprint's views in `routes.py`, as `auth/routes.py` and `ops/routes.py` do.
"""

from flask import current_app, render_template

from webapp.pages import bp


@bp.get("/")
def index():
    """Home: what CelebVision does and where to start."""
    return render_template("pages/index.html")


@bp.get("/favicon.ico")
def favicon():
    """The logo, for browsers that ask for /favicon.ico on pages without a <head> (JSON, images)."""
    return current_app.send_static_file("img/logo.svg")


@bp.get("/classify")
def classify():
    """Upload a photo, get a label, say whether it was right."""
    return render_template("pages/classify.html")


@bp.get("/stylize")
def stylize():
    """Upload a content and a style photo and start a stylization."""
    return render_template("pages/stylize.html", stylization_id=None)


@bp.get("/stylize/<stylization_id>")
def stylization(stylization_id: str):
    """Watch or revisit one stylization by its opaque id (the page is its share link)."""
    return render_template("pages/stylize.html", stylization_id=stylization_id)
