"""Login and logout pages."""
from flask import redirect, render_template, request, url_for
from flask_login import login_user, logout_user

from ..extensions import db
from ..models import User
from ..security import rate_limited
from . import bp


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login", "RATE_LIMIT_FEEDBACK")
def login():
    """Admin login form."""
    error = None
    if request.method == "POST":
        user = db.session.scalar(db.select(User).where(User.username == request.form.get("username", "")))
        if user and user.is_admin and user.check_password(request.form.get("password", "")):
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong username or password."
    return render_template("auth/login.html", form_error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    """End the admin session."""
    logout_user()
    return redirect(url_for("pages.index"))
