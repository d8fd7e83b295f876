"""Who is an admin: a logged-in session or HTTP Basic credentials."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import lru_cache, wraps

from flask import current_app, g, request, session
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db, login_manager
from webapp.tables import User
from webapp.web.errors import ApiError
from webapp.web.identity import client_address, is_owner, network_of
from webapp.web.security import limiter, too_many

_UNSET = object()


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user a session names, only while its nonce is current (logout and password change rotate it)."""
    user_id, _, nonce = session_id.partition(":")
    if not user_id.isdigit() or not nonce or len(user_id) > 18:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_nonce.encode(), nonce.encode()):
        return None
    if not _session_fresh():
        return None
    return user


def _session_fresh() -> bool:
    """A login session lasts SESSION_HOURS from the login, however active it is."""
    started = session.get("login_at")
    if not isinstance(started, int | float):
        return False
    age = dt.datetime.now(dt.UTC).timestamp() - started
    return 0 <= age < current_app.config["SESSION_HOURS"] * 3600


def start_session(user: User) -> None:
    """Log `user` in on a fresh session: a new CSRF token, a login time, this address remembered."""
    from flask_login import login_user

    session.clear()  # no state (nor CSRF token) carried over from before the login
    login_user(user)
    session.permanent = True
    session["login_at"] = dt.datetime.now(dt.UTC).timestamp()
    remember_address(user)
    db.session.commit()


def end_session(user: User) -> None:
    """Log `user` out everywhere: every session cookie issued so far, this one included, stops
    working."""
    user.revoke_sessions()
    db.session.commit()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


KNOWN_ADDRESSES = 10  # an admin's most recent login addresses, kept for the audit trail


def _address() -> str:
    """The client as the login limits count it: an IPv4 address or an IPv6 /64."""
    return network_of(client_address())


def _address_key() -> str:
    return _digest_address(_address())


def _digest_address(address: str) -> str:
    return hashlib.sha256(f"{current_app.secret_key}|login|{address}".encode()).hexdigest()[:32]


def _guards(username: str) -> list[tuple[str, str, str]]:
    """(key, bucket, limit) of the failed-login counters that apply to this request: per address,
    and per user name from this address. Failures slow down only the address they come from: no
    counter spans addresses, so guesses from elsewhere never refuse the right password here
    (a per-name counter let three strangers lock out an admin everywhere)."""
    config, address, name = current_app.config, _address_key(), username[:80].lower()
    return [
        (address, "auth-fail-addr", config["RATE_LIMIT_LOGIN"]),
        (f"{name}|{address}", "auth-fail-user-addr", config["RATE_LIMIT_LOGIN_USER"]),
    ]


def remember_address(user: User) -> None:
    """Note that `user` logged in from this address (committed by the caller)."""
    address = _address_key()
    known = [a for a in (user.known_addresses or []) if a != address]
    user.known_addresses = (known + [address])[-KNOWN_ADDRESSES:]


def _refuse_if_throttled(guards: list[tuple[str, str, str]]) -> None:
    for key, bucket, limit in guards:
        count, _ = limit.split("/", 1)
        if limiter().peek(key, bucket, limit) + 1 > int(count):  # this try would be one too many
            raise too_many(
                "Too many failed logins from your address.",
                limiter().retry_after(key, bucket, limit),
            )


def _record_failure(username: str, guards: list[tuple[str, str, str]]) -> None:
    """Count the failure against this address and audit it: which address tried which name."""
    from webapp.retention import audit

    for key, bucket, limit in guards:
        limiter().hit(key, bucket, limit)
    try:
        audit("login-failed", _address(), f"user:{username[:80]}")
        db.session.commit()
    except Exception:  # the audit log must not turn a wrong password into a 500
        db.session.rollback()


def authenticate(username: str, password: str) -> User | None:
    """The admin these credentials name, or None; 429 once this address failed too often.

    Every path (login form, HTTP Basic) comes here. An unknown user name costs the same password
    hash as a known one, so timing does not tell whether the name exists.
    """
    guards = _guards(username)
    _refuse_if_throttled(guards)
    user = db.session.scalar(db.select(User).where(User.username == username)) if username else None
    ok = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is not None and ok and user.is_admin:
        if _address_key() not in (user.known_addresses or []):
            remember_address(user)
            db.session.commit()
        return user
    _record_failure(username, guards)
    return None


def basic_auth_user() -> User | None:
    """The admin named by valid HTTP Basic credentials, if any (once per request)."""
    cached = g.get("_basic_user", _UNSET)
    if cached is not _UNSET:
        return cached
    auth = request.authorization
    user = None
    if auth is not None and auth.type == "basic" and auth.username:
        user = authenticate(auth.username, auth.password or "")
    g._basic_user = user
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
        raise ApiError(
            f"CSRF check failed ({exc.description}); reload the page and retry.", 400
        ) from None
    except Exception:
        raise ApiError("CSRF check failed; reload the page and retry.", 400) from None


def admin_required(view):
    """401 JSON unless the request comes from an admin."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_admin() is None:
            response_error = ApiError(
                "Admin login required: use HTTP Basic with an admin account or log in at /login.",
                401,
            )
            raise response_error
        return view(*args, **kwargs)

    return wrapper


def create_or_reset_admin(username: str, password: str) -> User:
    """Create the admin `username`, or reset its password if it exists."""
    if not username or not password:
        raise ValueError("An admin needs a username and a non-empty password.")
    user = db.session.scalar(db.select(User).where(User.username == username))
    if user is None:
        user = User(username=username, is_admin=True, password_hash="")
        db.session.add(user)
    if not user.password_hash or not user.check_password(password):
        user.set_password(
            password
        )  # a changed password revokes the sessions opened with the old one
    user.is_admin = True
    db.session.commit()
    return user


def require_owner(row, action: str) -> None:
    """403 unless the uploader of `row` or an admin makes this request."""
    if is_owner(row) or current_admin() is not None:
        g.private = True
        return
    raise ApiError(
        f"Only the person who uploaded this picture (or an admin) can {action}; "
        "use the browser or cookie jar you uploaded it with.",
        403,
    )


def metrics_allowed() -> None:
    """401 unless /metrics is open (METRICS_PUBLIC), the request carries METRICS_TOKEN, or an admin asks."""
    config = current_app.config
    if config["METRICS_PUBLIC"]:
        return
    token, auth = config["METRICS_TOKEN"], request.headers.get("Authorization", "")
    scheme, _, given = auth.partition(" ")
    if (
        token
        and scheme.lower() == "bearer"
        and secrets.compare_digest(given.encode(), token.encode())
    ):
        return
    if current_admin() is None:
        raise ApiError(
            "Metrics need 'Authorization: Bearer <METRICS_TOKEN>' or an admin login "
            "(METRICS_PUBLIC=1 opens them).",
            401,
        )
