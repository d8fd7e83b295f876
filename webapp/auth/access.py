"""Who is an admin: a logged-in session or HTTP Basic credentials."""
from __future__ import annotations

from functools import wraps

from flask import request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf

from ..errors import ApiError
from ..extensions import db, login_manager
from ..models import User


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def basic_auth_user() -> User | None:
    """The admin named by valid HTTP Basic credentials, if any."""
    auth = request.authorization
    if auth is None or auth.type != "basic" or not auth.username:
        return None
    user = db.session.scalar(db.select(User).where(User.username == auth.username))
    if user is None or not user.is_admin or not user.check_password(auth.password or ""):
        return None
    return user


def current_admin() -> User | None:
    """The admin making this request (Basic first, then the session), or None."""
    user = basic_auth_user()
    if user is not None:
        return user
    if current_user.is_authenticated and current_user.is_admin:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            _check_csrf()
        return current_user._get_current_object()
    return None


def _check_csrf() -> None:
    """Session-authenticated writes must carry the CSRF token (header X-CSRFToken)."""
    token = request.headers.get("X-CSRFToken") or request.form.get("csrf_token")
    try:
        validate_csrf(token)
    except CSRFError as exc:
        raise ApiError(f"CSRF check failed ({exc.description}); reload the page and retry.", 400) from None
    except Exception:
        raise ApiError("CSRF check failed; reload the page and retry.", 400) from None


def admin_required(view):
    """401 JSON unless the request comes from an admin."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_admin() is None:
            response_error = ApiError("Admin login required: use HTTP Basic with an admin account "
                                      "or log in at /login.", 401)
            raise response_error
        return view(*args, **kwargs)

    return wrapper


def create_or_reset_admin(username: str, password: str) -> User:
    """Create the admin `username`, or reset its password if it exists."""
    if not username or not password:
        raise ValueError("An admin needs a username and a non-empty password.")
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        user = User(username=username, is_admin=True)
        db.session.add(user)
    user.set_password(password)
    user.is_admin = True
    db.session.commit()
    return user
