"""Login and logout pages.

Each view package keeps its blueprint's views in `routes.py`, as `ops/routes.py` and `pages/routes.py` do.
"""

from urllib.parse import urlsplit

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from webapp.auth import bp
from webapp.auth.access import authenticate, end_session, start_session
from webapp.web.security import rate_limited


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login; anything else goes to the dashboard.

    Browsers drop tabs and newlines and read a backslash as a slash, so `/\\t/evil.example` or
    `/\\evil.example` would leave the site: such characters are refused, not cleaned.
    """
    fallback = url_for("admin.dashboard")
    if not target or len(target) > 2000 or not target.startswith("/"):
        return fallback
    if any(ch <= " " or ch == "\x7f" or ch == "\\" for ch in target):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
@rate_limited("login", "RATE_LIMIT_FEEDBACK")
def login():
    """Admin login form."""
    error = None
    if request.method == "POST":
        user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        if user is not None:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong username or password."
    return render_template("auth/login.html", form_error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    """End the admin session; copies of its cookie stop working too."""
    if current_user.is_authenticated:
        end_session(current_user)
    logout_user()
    session.clear()
    return redirect(url_for("pages.index"))
