"""The admin side: the console pages and /api/admin/*, all behind admin auth."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from webapp.admin import api, console_api, import_api, schedules_api, views  # noqa: E402,F401
