"""Admin accounts: session login for the console, HTTP Basic for scripts."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from webapp.auth import routes  # noqa: E402,F401
