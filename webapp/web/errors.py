"""Errors a person can act on, turned into JSON (API) or HTML (pages) responses."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from sqlalchemy import exc as sa
from werkzeug.exceptions import HTTPException

from webapp.exceptions import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    NotReady,
    TooMany,
    Unavailable,
)
from webapp.extensions import db
from webapp.storage import StorageError, StorageUnavailable

# Database errors that say the database cannot serve now (down, locked, out of connections),
# not that the request or the code is wrong.
DATABASE_DOWN = (
    sa.OperationalError,
    sa.InterfaceError,
    sa.DisconnectionError,
    sa.TimeoutError,
    sa.PendingRollbackError,
)


class ApiError(Exception):
    """An error with an HTTP status and a message for the person who sent the request."""

    def __init__(self, message: str, status: int = 400, **extra):
        super().__init__(message)
        self.message, self.status, self.extra = message, status, extra


# The one mapping from domain refusals to HTTP statuses. Views raise or let these through and
# never build an error response themselves.
STATUS = {
    Invalid: 400,
    NotFound: 404,
    Conflict: 409,
    TooMany: 429,
    Unavailable: 503,
    NotReady: 202,
}


def status_of(exc: DomainError) -> int:
    """The HTTP status of a domain refusal (its nearest mapped class; 400 otherwise)."""
    return next((code for cls, code in STATUS.items() if isinstance(exc, cls)), 400)


MESSAGES = {
    400: "The request could not be understood.",
    401: "Log in as an admin to do this.",
    403: "You are not allowed to do this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The upload is too large.",
    429: "Too many requests; try again in a minute.",
    500: "Something went wrong on our side; it has been logged.",
    501: "Not implemented yet.",
    503: "A service the app depends on is unavailable; try again shortly.",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(message: str, status: int, **extra):
    """A JSON `{"error": message}` response, or the HTML error page for browsers."""
    if _wants_json():
        response = jsonify({"error": message, **extra})
        response.status_code = status
        return response
    return render_template("errors/error.html", code=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    """Every error leaves as JSON for the API, as a page for people; never a bare 500."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.message, exc.status, **exc.extra)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError):
        if isinstance(exc, TooMany):
            g.retry_after = exc.retry_after  # the security layer turns it into Retry-After
        response = make_response(error_response(exc.message, status_of(exc), **exc.extra))
        if isinstance(exc, NotReady):  # ask again later, and keep no copy of this answer
            response.headers["Retry-After"] = str(exc.retry_after)
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(StorageError)
    def _storage_down(exc: StorageError):
        # An outage is a warning; a refusal (no such bucket, access denied) is a configuration error.
        log = app.logger.warning if isinstance(exc, StorageUnavailable) else app.logger.error
        log("storage failed on %s %s: %s", request.method, request.path, exc)
        return _retry_later(
            "File storage is unavailable right now; nothing was saved. Try again shortly."
        )

    @app.errorhandler(sa.DataError)
    def _bad_value(exc: sa.DataError):
        _rollback()
        app.logger.info(
            "database refused a value on %s %s: %s", request.method, request.path, exc.orig
        )
        return error_response(
            "A value in the request cannot be stored (too long, out of range or "
            "containing a NUL character); correct it and retry.",
            400,
        )

    @app.errorhandler(sa.IntegrityError)
    def _conflict(exc: sa.IntegrityError):
        _rollback()
        app.logger.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
        return error_response(
            "This conflicts with a change made at the same moment; retry the request.", 409
        )

    for error in DATABASE_DOWN:
        app.register_error_handler(error, _database_down)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        if status == 413:
            return error_response(_too_large_message(), 413)
        message = (
            exc.description if status == 400 and exc.description else MESSAGES.get(status, exc.name)
        )
        return error_response(message, status)

    @app.errorhandler(RecursionError)
    def _too_deep(exc: RecursionError):
        return error_response("The request nests too deeply to be read; send a flatter one.", 400)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(MESSAGES[500], 500)


def _too_large_message() -> str:
    """Why a request was refused as too large: its size, or a form of too many parts."""
    config = current_app.config
    length = request.content_length
    if length is None or length > config["MAX_CONTENT_LENGTH"]:
        return f"The upload is larger than {config['MAX_UPLOAD_MB']:g} MB; send a smaller image."
    return (
        f"The form has too many fields (at most {config['MAX_FORM_PARTS']} parts) or a text field "
        f"over {config['MAX_FORM_MEMORY_SIZE'] // 1000} KB; send only the fields the API lists "
        "(/api/docs)."
    )


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the session is discarded at teardown anyway
        pass


def _retry_later(message: str, seconds: int = 30):
    """A 503 that tells clients when to try again."""
    response = make_response(error_response(message, 503))
    response.headers["Retry-After"] = str(seconds)
    return response


def _database_down(exc: Exception):
    _rollback()
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, exc
    )
    return _retry_later(
        "The database is unavailable right now; nothing was saved. Try again shortly."
    )
