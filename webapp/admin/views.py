"""Admin console pages."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/admin")
@login_required
def dashboard():
    """The admin dashboard."""
    return render_template("admin/dashboard.html")
